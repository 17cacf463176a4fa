"""The small network the model-file fixtures hold, built the same way by real NNabla and by our engine."""


def build(nn):
    """A convolution, batch normalization (inference statistics), pooling and two affine layers."""
    import nnabla.functions as F
    import nnabla.parametric_functions as PF

    nn.seed(313)
    x = nn.Variable((2, 1, 6, 6))
    t = nn.Variable((2, 1))
    h = PF.convolution(x, 3, (3, 3), pad=(1, 1), name="conv1")
    h = PF.batch_normalization(h, batch_stat=False, name="bn1")
    h = F.relu(h)
    h = F.max_pooling(h, (2, 2))
    h = F.tanh(PF.affine(h, 5, name="fc1"))
    y = PF.affine(h, 3, name="fc2")
    loss = F.mean(F.softmax_cross_entropy(y, t))
    return x, t, y, loss


def contents_of(x, t, y, loss, solver):
    """What ``nnabla.utils.save.save`` gets: two networks, an executor, an optimizer, a dataset, a monitor."""
    return {
        "networks": [
            {"name": "training", "batch_size": 2, "outputs": {"loss": loss}, "names": {"x": x, "t": t}},
            {"name": "runtime", "batch_size": 2, "outputs": {"y": y}, "names": {"x": x}},
        ],
        "executors": [{"name": "inference", "network": "runtime", "data": ["x"], "output": ["y"]}],
        "datasets": [
            {
                "name": "made_data",
                "uri": "made_data.csv",
                "variables": ["x", "t"],
                "shuffle": True,
                "batch_size": 2,
                "no_image_normalization": True,
            },
        ],
        "optimizers": [
            {
                "name": "optimizer",
                "solver": solver,
                "network": "training",
                "dataset": "made_data",
                "weight_decay": 0,
                "lr_decay": 1,
                "lr_decay_interval": 1,
                "update_interval": 1,
            },
        ],
        "monitors": [{"name": "training_loss", "network": "training", "dataset": "made_data"}],
    }
