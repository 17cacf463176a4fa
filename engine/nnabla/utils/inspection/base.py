"""The shape of an inspection tool: a pair of function hooks for ``forward``/``backward``."""


class FunctionHookCallbackBase:
    """Gives ``pre_hook`` and ``post_hook``: callables taking the Function about to run or just run."""

    @property
    def pre_hook(self):
        raise NotImplementedError()

    @property
    def post_hook(self):
        raise NotImplementedError()
