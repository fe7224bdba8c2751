"""The two assistants under test as Rasa project layouts: PoreGuide itself, and Rasa's default
bot scaffolded exactly as `rasa init --no-prompt` does (without its automatic training, which the
benchmark times itself), and a variant with one response edited for the retraining timing."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import List, Optional

import yaml

from bot import settings

EDIT_MARK = " (edited for the retraining benchmark)"


@dataclass(frozen=True)
class Project:
    name: str
    root: Path  # Rasa commands run here (PoreGuide's config names paths relative to it)
    config: Path
    domain: Path
    data: Path

    def train_arguments(self, out: Path, model_name: str, nlu_only: bool = False) -> List[str]:
        if nlu_only:
            return [
                "train",
                "nlu",
                "--config",
                str(self.config),
                "--nlu",
                str(self.data),
                "--out",
                str(out),
                "--fixed-model-name",
                model_name,
            ]
        return [
            "train",
            "--config",
            str(self.config),
            "--domain",
            str(self.domain),
            "--data",
            str(self.data),
            "--out",
            str(out),
            "--fixed-model-name",
            model_name,
        ]


POREGUIDE = Project(
    "poreguide",
    settings.PROJECT_ROOT,
    settings.PROJECT_ROOT / "config.yml",
    settings.PROJECT_ROOT / "domain.yml",
    settings.PROJECT_ROOT / "data",
)


def scaffold_default_bot(directory: Path) -> Project:
    """Rasa's initial project (what `rasa init --no-prompt` copies) in `directory`."""
    from rasa.cli.scaffold import create_initial_project

    directory.mkdir(parents=True, exist_ok=True)
    create_initial_project(str(directory))
    return Project("rasa_default", directory, directory / "config.yml", directory / "domain.yml", directory / "data")


def default_pipeline_on(project: Project, default_bot: Project) -> Project:
    """`project`'s data with the default bot's config (Rasa's default pipeline)."""
    return replace(project, name=f"{project.name}_default_pipeline", config=default_bot.config)


def with_one_response_edited(project: Project, directory: Path, response: Optional[str] = None) -> Project:
    """A copy of `project`'s domain where only the first text of one response (default: the
    first response) differs."""
    domain = yaml.safe_load(project.domain.read_text(encoding="utf-8"))
    name = response or next(iter(domain["responses"]))
    variant = next(item for item in domain["responses"][name] if "text" in item)
    variant["text"] += EDIT_MARK
    path = directory / f"{project.name}.edited-domain.yml"
    path.write_text(yaml.safe_dump(domain, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return replace(project, domain=path)
