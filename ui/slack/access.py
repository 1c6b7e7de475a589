"""Who may see what from Slack: Slack workspaces, channels and users map to a principal's projects.

The mapping file (``XMEM_SLACK_ACCESS``, TOML or JSON) lists rules::

    [[principal]]
    name = "churn-team"
    projects = ["churn-prediction", "ltv-forecasting"]   # leave out for every project
    channels = ["C0123ABCD"]                              # answers posted in these channels
    users = ["U0456EFGH"]                                 # these people, wherever they ask
    teams = ["T0001"]                                     # every user of these workspaces

An answer posted in a channel is seen by everyone there, so it shows only the projects the
channel's rules allow (and, when the asker is mapped too, only those both allow). An answer only
the asker sees (ephemeral) shows what the asker's rules allow, narrowed by the channel's when it
is mapped. Nothing mapped: no answer, a refusal that says whom to ask.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from memory.entities import Principal, Scope
from memory.errors import InvalidConfig


class SlackRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="Name of the principal (shown in logs).")
    projects: list[str] | None = Field(default=None, description="Projects it may see; none listed: every project.")
    channels: list[str] = Field(default_factory=list, description="Slack channel ids (C…, G…) whose posts it governs.")
    users: list[str] = Field(default_factory=list, description="Slack user ids (U…, W…) it applies to.")
    teams: list[str] = Field(default_factory=list, description="Slack workspace ids (T…): every user of them.")


class SlackAccess(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    principal: list[SlackRule] = Field(default_factory=list, description="The rules, any order.")

    @classmethod
    def load(cls, path: Path) -> "SlackAccess":
        try:
            text = path.read_text()
        except OSError as exc:
            raise InvalidConfig(f"cannot read the Slack access file {path}: {exc.strerror}",
                                hint="set XMEM_SLACK_ACCESS to a TOML or JSON file (see the README)") from None
        try:
            if path.suffix.lower() == ".json":
                raw = json.loads(text)
            else:
                import tomllib

                raw = tomllib.loads(text)
            return cls.model_validate(raw)
        except (ValueError, ValidationError) as exc:
            raise InvalidConfig(f"{path}: not a valid Slack access file: {exc}".splitlines()[0],
                                hint="see 'Slack bot' in the README for the format") from None

    def _projects(self, rules: list[SlackRule]) -> frozenset[str] | None:
        if any(r.projects is None for r in rules):
            return None
        return frozenset(p for r in rules for p in (r.projects or ()))

    def principal_for(self, *, team: str | None, channel: str | None, user: str | None, public: bool) -> Principal | None:
        """The principal an answer for ``user`` in ``channel`` is computed with; ``None``: refuse."""
        by_channel = [r for r in self.principal if channel and channel in r.channels]
        by_user = [r for r in self.principal if (user and user in r.users) or (team and team in r.teams)]
        if public and not by_channel:
            return None
        if not by_channel and not by_user:
            return None
        allowed: frozenset[str] | None = None  # every project, until a rule narrows it
        for rules in (by_channel, by_user):
            projects = self._projects(rules) if rules else None
            if projects is not None:
                allowed = projects if allowed is None else allowed & projects
        names = "+".join(sorted({r.name for r in by_channel + by_user}))
        return Principal(name=f"slack:{names}", scopes=frozenset({Scope.read}), projects=allowed)
