#!/usr/bin/env bash
# Start JupyterLab (or, with the argument `notebook`, Jupyter Notebook 7) for the browser tests from $VENV, a venv
# with nnabla-nb installed (`make test-extension`: from the wheel into a fresh venv; `make extension`: .venv), so
# the extension is the one installed in $VENV/share/jupyter/labextensions. Every other Jupyter directory is
# temporary, no token, no browser. Playwright's webServer runs this; its environment gives VENV and
# LAB_PORT / LAB_ROOT (JupyterLab) or NB_PORT / NB_ROOT (Notebook 7).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
ext="$(cd "$here/.." && pwd)"
VENV="${VENV:-$(cd "$ext/.." && pwd)/.venv}"
APP="${1:-lab}"
case "$APP" in
  lab) PORT="${LAB_PORT:-8899}" ROOT="${LAB_ROOT:-$ext/.browser-test}" ;;
  notebook) PORT="${NB_PORT:-8898}" ROOT="${NB_ROOT:-$ext/.browser-test-notebook}" ;;
  *) echo "usage: start-lab.sh [lab|notebook]" >&2 && exit 2 ;;
esac

if [ ! -f "$VENV/share/jupyter/labextensions/nnabla-nb/package.json" ]; then
  echo "$VENV has no nnabla-nb extension: run 'make extension' (.venv) or 'make test-extension' (from the wheel)" >&2
  exit 1
fi
rm -rf "$ROOT"
mkdir -p "$ROOT"/{notebooks,data/labextensions,config,runtime,settings,workspaces}
export JUPYTER_PATH="$ROOT/data"
export JUPYTER_CONFIG_DIR="$ROOT/config"
export JUPYTER_DATA_DIR="$ROOT/data"
export JUPYTER_RUNTIME_DIR="$ROOT/runtime"
export JUPYTERLAB_SETTINGS_DIR="$ROOT/settings"
export JUPYTERLAB_WORKSPACES_DIR="$ROOT/workspaces"
export IPYTHONDIR="$ROOT/ipython"
# no "get Jupyter news?" toast over the views being screenshotted
mkdir -p "$ROOT/settings/@jupyterlab/apputils-extension"
echo '{"fetchNews": "false"}' >"$ROOT/settings/@jupyterlab/apputils-extension/notification.jupyterlab-settings"
# every cell attached to the page (no windowing): the lesson test measures and photographs all of its views
mkdir -p "$ROOT/settings/@jupyterlab/notebook-extension"
echo '{"windowingMode": "none"}' >"$ROOT/settings/@jupyterlab/notebook-extension/tracker.jupyterlab-settings"

"$VENV/bin/python" "$here/notebooks/make_notebooks.py" "$ROOT/notebooks"
# the same small notebook, executed and saved without a signature: reopening it is untrusted
"$VENV/bin/jupyter" nbconvert --to notebook --execute --output graph_saved.ipynb \
  --output-dir "$ROOT/notebooks" "$ROOT/notebooks/graph_small.ipynb" >/dev/null 2>&1
# JupyterLab and Notebook 7 load the same federated extensions: it must be listed, enabled and OK
listed="$("$VENV/bin/jupyter" labextension list 2>&1 | sed 's/\x1b\[[0-9;]*m//g')"
grep -Eq "nnabla-nb v[^ ]+ enabled +OK" <<<"$listed" || {
  echo "nnabla-nb is not enabled and OK in 'jupyter labextension list'" >&2
  exit 1
}

root_flag=()
if [ "$(id -u)" = 0 ]; then root_flag=(--allow-root); fi  # containers often run as root
common=(--no-browser --ip=127.0.0.1 --port="$PORT" --IdentityProvider.token='' --ServerApp.password=''
  --ServerApp.disable_check_xsrf=True --ServerApp.root_dir="$ROOT/notebooks")
if [ "$APP" = notebook ]; then
  exec "$VENV/bin/jupyter" notebook "${root_flag[@]}" "${common[@]}" --JupyterNotebookApp.expose_app_in_browser=True
fi
exec "$VENV/bin/jupyter" lab "${root_flag[@]}" "${common[@]}" --LabApp.expose_app_in_browser=True \
  --LabServerApp.workspaces_dir="$ROOT/workspaces"
