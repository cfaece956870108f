"""The resolved per-aspect domain strategy of a run, written into its metrics.json so that selection can
group trials on it instead of re-parsing sweep keys. The one owner of the `strategy/` key names:

    strategy/<A>/definer   definer name (none|random|dataset|metadata|kmeans|gmm), with `:<features>` for
                           kmeans/gmm and `:<columns>` for metadata
    strategy/<A>/k         number of domains the definer found (0 or 1: no handling = ERM)
    strategy/<A>/handling  the domain handling in use (aqa.model.handling.registry), `none` when K < 2
    strategy/<A>/lambda    the adversary's final GRL strength (0 when not adversarial)
    strategy/<A>/weight    the adversary's loss weight (0 when not adversarial)
    strategy/<A>/lambda_kept  the GRL strength at the kept checkpoint's step (0: the kept model never
                           trained against its adversary, e.g. kept before the warm-up ended; not a
                           grouping key)
"""

KEYS = ("definer", "k", "handling", "lambda", "weight")


def strategy_key(aspect: str, key: str) -> str:
    """`strategy/<A>/<key>` (key one of KEYS)."""
    return f"strategy/{aspect}/{key}"


def read_strategy(metrics: dict, aspect: str) -> dict | None:
    """{key: value} of `aspect`'s resolved strategy in a run's flat metrics; None when the run wrote none."""
    found = {k: metrics[strategy_key(aspect, k)] for k in KEYS if strategy_key(aspect, k) in metrics}
    return found or None


def definer_label(definer: dict) -> str:
    """A DefinerConfig's fields -> `name` or `name:<features|columns>`."""
    name = definer.get("name", "none")
    if name in ("kmeans", "gmm"):
        return f"{name}:{definer.get('features', 'encoder')}"
    if name == "metadata":
        return f"{name}:{'+'.join(definer.get('columns') or [])}"
    return name


KEPT_LAMBDA = "lambda_kept"


def kept_lambda_key(aspect: str) -> str:
    return strategy_key(aspect, KEPT_LAMBDA)


def kept_lambdas(aspects: list[str], domains, settings: dict, adversary, progress: float) -> dict:
    """{`strategy/<A>/lambda_kept`: the GRL strength each adversarial aspect trained with at `progress`
    (the kept checkpoint's step / all steps), by the module's schedule (warm-up, then the DANN ramp)}."""
    from aqa.model.grl import after_warmup, grl_lambda  # noqa: PLC0415 (torch: not for the report tables)

    p = after_warmup(progress, adversary.warmup_fraction)
    out = {}
    for a in aspects:
        adversarial = int(domains.num_domains.get(a, 0)) >= 2 and settings[a].adversarial
        out[kept_lambda_key(a)] = (
            grl_lambda(p, settings[a].lambda_max, settings[a].gamma) if adversarial else 0.0
        )
    return out


def strategy_metrics(aspects: list[str], domains, settings: dict) -> dict:
    """{`strategy/<A>/<key>`: value} from the fitted DomainLabels and the model's AspectSettings."""
    out = {}
    for a in aspects:
        k = int(domains.num_domains.get(a, 0))
        handled = k >= 2
        setting = settings[a]
        adversarial = handled and setting.adversarial
        values = {
            "definer": definer_label(domains.definers.get(a, {})),
            "k": k,
            "handling": setting.domain_handling if handled else "none",
            "lambda": setting.lambda_max if adversarial else 0.0,
            "weight": setting.weight if adversarial else 0.0,
        }
        out |= {strategy_key(a, key): value for key, value in values.items()}
    return out
