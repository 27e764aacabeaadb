"""A scenario played on the dashboard: its summary and what to watch on the page, its expected
observations checked while it runs, and the run stopped at its `duration_ms`.

`chain scenario run NAME` judges a finished run (chain.scenarios.runner); in the browser the
class watches it happen, so the same checks (chain.scenarios.observations) are run on the record
so far, sampled like the batch run (every SAMPLE_MS of virtual time). Until the end a check that
does not hold yet says "not yet" rather than "failed": "progress after the last fault" cannot be
judged before the last fault. At `duration_ms` every check gets its final pass or FAIL, and
virtual time stops (the page stays up for the class to look at it; step still works).
"""

from __future__ import annotations

from typing import Any

from chain.scenarios import world
from chain.scenarios.observations import SAMPLE_MS, RunRecord, Sample, check
from chain.scenarios.runner import ScenarioScript, group_record_outcome, judge, record_outcome
from chain.scenarios.spec import Scenario

JUDGE_EVERY_MS = 4000  # virtual time between two live evaluations (the invariant checker re-reads every chain)


class ScenarioWatch:
    """The scenario's script, sampled and judged as the dashboard advances it (a LiveChain `Script`)."""

    def __init__(self, scenario: Scenario, sim: world.SimChain) -> None:
        self.scenario = scenario
        self.sim = sim
        self.record = RunRecord(suite=scenario.suite)
        self.record.last_fault_ms = max((e.at_ms for e in scenario.events), default=0)
        self.script = ScenarioScript(scenario, sim, on_apply=lambda t, text: self.record.applied.append((t, text)))
        self.record.samples.append(Sample(sim.now_ms, tuple(sim.node_status())))
        self._judged_at = -JUDGE_EVERY_MS
        self._judged_final = False
        self._verdicts: list[dict[str, Any]] = []

    @property
    def finished(self) -> bool:
        return self.sim.now_ms >= self.scenario.duration_ms

    def advance_to(self, target_ms: int) -> None:
        """Play the script up to target_ms — never past duration_ms — sampling every SAMPLE_MS."""
        target_ms = min(target_ms, self.scenario.duration_ms)
        while self.sim.now_ms < target_ms:
            self.script.advance_to(min(self.sim.now_ms + SAMPLE_MS, target_ms))
            self.record.samples.append(Sample(self.sim.now_ms, tuple(self.sim.node_status())))

    def verdicts(self) -> list[dict[str, Any]]:
        """Each expected observation: ok True (holds), False (failed, at the end only) or None (not yet)."""
        if self._judged_final:
            return self._verdicts
        if self.finished or self.sim.now_ms - self._judged_at >= JUDGE_EVERY_MS:
            self._judged_at = self.sim.now_ms
            self._judged_final = self.finished
            record_outcome(self.record, self.sim, self.script)
            final = self.finished
            self._verdicts = []
            for observation in self.scenario.expect:
                if observation == "suites_agree":  # the page plays one suite; the batch run plays them all
                    self._verdicts.append({"name": observation, "ok": None,
                                           "detail": f"needs every suite: chain scenario run {self.scenario.name}"})
                    continue
                verdict = check(observation, [self.record])
                self._verdicts.append({"name": observation, "detail": verdict.detail,
                                       "ok": True if verdict.held else (False if final else None)})
        return self._verdicts

    def describe(self) -> dict[str, Any]:
        return {"name": self.scenario.name, "title": self.scenario.title, "summary": " ".join(self.scenario.summary.split()),
                "watch": " ".join(self.scenario.watch.split()), "duration_ms": self.scenario.duration_ms,
                "finished": self.finished, "applied": [f"{t} ms: {text}" for t, text in self.record.applied],
                "expect": self.verdicts()}


class GroupsScenarioWatch:
    """A scenario with several groups played on the dashboard: one record per group, sampled at the
    same moments, each expectation judged on the group it names (chain.scenarios.runner.judge), as
    in the batch run; "not yet" until the end, like ScenarioWatch."""

    def __init__(self, scenario: Scenario, chains: world.GroupsChain) -> None:
        self.scenario = scenario
        self.chains = chains
        self.records = {name: RunRecord(suite=scenario.suite, group=name) for name in chains.chains}
        last_fault = max((e.at_ms for e in scenario.events), default=0)
        for record in self.records.values():
            record.last_fault_ms = last_fault
        self.applied: list[tuple[int, str]] = []
        self.script = ScenarioScript(scenario, chains, on_apply=self._applied)
        self._sample()
        self._judged_at = -JUDGE_EVERY_MS
        self._judged_final = False
        self._verdicts: list[dict[str, Any]] = []

    def _applied(self, t: int, text: str) -> None:
        self.applied.append((t, text))
        for record in self.records.values():
            record.applied.append((t, text))

    def _sample(self) -> None:
        for name, record in self.records.items():
            record.samples.append(Sample(self.chains.now_ms, tuple(self.chains.chains[name].node_status())))

    @property
    def finished(self) -> bool:
        return self.chains.now_ms >= self.scenario.duration_ms

    def advance_to(self, target_ms: int) -> None:
        target_ms = min(target_ms, self.scenario.duration_ms)
        while self.chains.now_ms < target_ms:
            self.script.advance_to(min(self.chains.now_ms + SAMPLE_MS, target_ms))
            self._sample()

    def verdicts(self) -> list[dict[str, Any]]:
        if self._judged_final:
            return self._verdicts
        if self.finished or self.chains.now_ms - self._judged_at >= JUDGE_EVERY_MS:
            self._judged_at = self.chains.now_ms
            self._judged_final = final = self.finished
            group_record_outcome(self.records, self.chains, self.script)
            self._verdicts = [{"name": v.observation, "detail": v.detail, "ok": True if v.held else (False if final else None)}
                              for v in judge(self.scenario, list(self.records.values()))]
        return self._verdicts

    def describe(self) -> dict[str, Any]:
        return {"name": self.scenario.name, "title": self.scenario.title, "summary": " ".join(self.scenario.summary.split()),
                "watch": " ".join(self.scenario.watch.split()), "duration_ms": self.scenario.duration_ms,
                "finished": self.finished, "applied": [f"{t} ms: {text}" for t, text in self.applied],
                "expect": self.verdicts()}
