#!/usr/bin/env bash
# Start JupyterLab for the browser tests: the built extension (labextension/dist/nnabla-nb) is put on a
# temporary JUPYTER_PATH, every Jupyter directory is temporary, no token, no browser.
# Playwright's webServer runs this; its environment gives VENV, LAB_PORT and LAB_ROOT.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
ext="$(cd "$here/.." && pwd)"
VENV="${VENV:-$(cd "$ext/.." && pwd)/.venv}"
LAB_PORT="${LAB_PORT:-8899}"
LAB_ROOT="${LAB_ROOT:-$ext/.browser-test}"

if [ ! -f "$ext/dist/nnabla-nb/package.json" ]; then
  echo "labextension/dist/nnabla-nb is not built: run 'make -C labextension build' first" >&2
  exit 1
fi
rm -rf "$LAB_ROOT"
mkdir -p "$LAB_ROOT"/{notebooks,data/labextensions,config,runtime,settings,workspaces}
ln -s "$ext/dist/nnabla-nb" "$LAB_ROOT/data/labextensions/nnabla-nb"
export JUPYTER_PATH="$LAB_ROOT/data"
export JUPYTER_CONFIG_DIR="$LAB_ROOT/config"
export JUPYTER_DATA_DIR="$LAB_ROOT/data"
export JUPYTER_RUNTIME_DIR="$LAB_ROOT/runtime"
export JUPYTERLAB_SETTINGS_DIR="$LAB_ROOT/settings"
export JUPYTERLAB_WORKSPACES_DIR="$LAB_ROOT/workspaces"
export IPYTHONDIR="$LAB_ROOT/ipython"
# no "get Jupyter news?" toast over the views being screenshotted
mkdir -p "$LAB_ROOT/settings/@jupyterlab/apputils-extension"
echo '{"fetchNews": "false"}' >"$LAB_ROOT/settings/@jupyterlab/apputils-extension/notification.jupyterlab-settings"

"$VENV/bin/python" "$here/notebooks/make_notebooks.py" "$LAB_ROOT/notebooks"
# the same small notebook, executed and saved without a signature: reopening it is untrusted
"$VENV/bin/jupyter" nbconvert --to notebook --execute --output graph_saved.ipynb \
  --output-dir "$LAB_ROOT/notebooks" "$LAB_ROOT/notebooks/graph_small.ipynb" >/dev/null 2>&1
"$VENV/bin/jupyter" labextension list 2>&1 | grep -q "nnabla-nb" || {
  echo "nnabla-nb is not in 'jupyter labextension list'" >&2
  exit 1
}

root_flag=()
if [ "$(id -u)" = 0 ]; then root_flag=(--allow-root); fi  # containers often run as root
exec "$VENV/bin/jupyter" lab "${root_flag[@]}" --no-browser --ip=127.0.0.1 --port="$LAB_PORT" \
  --IdentityProvider.token='' --ServerApp.password='' --ServerApp.disable_check_xsrf=True \
  --LabApp.expose_app_in_browser=True --ServerApp.root_dir="$LAB_ROOT/notebooks" \
  --LabServerApp.workspaces_dir="$LAB_ROOT/workspaces"
