"""The experiment schema: every section, composed. Defaults live only in these dataclasses."""

from dataclasses import dataclass, field

from aqa.config.domain import DomainConfig
from aqa.config.metrics import MetricsConfig
from aqa.config.model import LossConfig, ModelConfig, OptimConfig
from aqa.config.train import CheckpointConfig, LoggerConfig, RunConfig, TrainerConfig
from data_modules.config import DataConfig


@dataclass
class AQAConfig:
    seed: int = 0
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    domain: DomainConfig = field(default_factory=DomainConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    checkpoint: CheckpointConfig = field(default_factory=CheckpointConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    logger: LoggerConfig = field(default_factory=LoggerConfig)
    run: RunConfig = field(default_factory=RunConfig)
