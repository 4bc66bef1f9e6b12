"""Routes: each sink's ``match`` is compiled once (errors name ``sinks.<name>.match``), a
record goes to every sink whose route accepts it, and the checkpoint waits only for those."""

import asyncio

import pytest

from shipper.components import Observers
from shipper.config import Settings, load_settings
from shipper.delivery import Delivery
from shipper.errors import ConfigError
from shipper.parse import FileParser, ParseCounts
from shipper.record import Record
from shipper.routes import Router
from shipper.sinks.settings import SinkMatch
from shipper.stages import CountingFates
from shipper.stream import Batch, FileStream


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    import os

    for key in list(os.environ):
        if key.startswith("SHIPPER_"):
            monkeypatch.delenv(key)


def config(tmp_path, sinks: str) -> str:
    path = tmp_path / "config.yaml"
    path.write_text("sinks:\n" + sinks)
    return str(path)


def rec(level="info", message="m", **extra):
    record = Record({"level": level, "message": message, **extra})
    record.raw = message
    return record


# -- config ---------------------------------------------------------------------------------

def test_match_compiles_min_level_and_field_regexes(tmp_path):
    settings = load_settings(config(tmp_path, (
        "  - {type: stdout, name: errors, match: {min_level: error, k8s.labels.team: '^pay'}}\n"
        "  - {type: stdout, name: all}\n")))
    errors, everything = settings.sinks
    assert errors.match is not None and errors.match.min_level == "error"
    assert errors.match.fields["k8s.labels.team"].pattern == "^pay"
    assert everything.match is None


@pytest.mark.parametrize("match,key,problem", [
    ("{mesage: x}", "sinks.errors.match", "unknown field 'mesage'"),
    ("{message: '(unclosed'}", "sinks.errors.match.message", "invalid regex"),
    ("{min_level: loud}", "sinks.errors.match.min_level", "Input should be"),
    ("{attributes.x: 3}", "sinks.errors.match.attributes.x", ""),
])
def test_bad_match_is_a_config_error_naming_the_sink_and_key(tmp_path, match, key, problem):
    path = config(tmp_path, f"  - {{type: stdout, name: all}}\n"
                            f"  - {{type: stdout, name: errors, match: {match}}}\n")
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    assert err.value.key == key
    assert problem in str(err.value)


def test_other_sink_errors_are_named_by_sink_name_too(tmp_path):
    path = config(tmp_path, "  - {type: http, name: audit, url: 'ftp://x'}\n")
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    assert err.value.key == "sinks.audit.url"
    path = config(tmp_path, "  - {type: http, url: 'ftp://x'}\n")  # default name: the type
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    assert err.value.key == "sinks.http.url"


# -- the router -----------------------------------------------------------------------------

def router(*matches, fates=None):
    return Router([None if m is None else SinkMatch.model_validate(m) for m in matches],
                  fates or CountingFates())


def test_errors_to_one_sink_everything_to_another():
    records = [rec("info"), rec("error"), rec("debug"), rec("critical")]
    errors, everything = router({"min_level": "error"}, None).split(records)
    assert [r["level"] for r in errors] == ["error", "critical"]
    assert everything == records


def test_field_regexes_all_must_match_and_a_missing_field_never_does():
    r = router({"message": "^pay", "k8s.labels.team": "^core$"}, {"raw": "refund"})
    a = rec(message="payment ok", k8s={"labels": {"team": "core"}})
    b = rec(message="payment ok")  # no team label
    c = rec(message="refund")
    first, second = r.split([a, b, c])
    assert first == [a] and second == [c]


def test_unrouted_below_warning_is_dropped_and_counted_as_no_route():
    fates = CountingFates()
    first, second = router({"min_level": "error"}, {"message": "^audit"}, fates=fates).split(
        [rec("info", "chatty"), rec("info", "audit 1")])
    assert first == [] and [r["message"] for r in second] == ["audit 1"]
    assert fates.drops == {("no_route", "-"): 1}


def test_unrouted_warning_goes_to_every_sink_never_dropped(caplog):
    fates = CountingFates()
    r = router({"message": "^audit"}, {"message": "^billing"}, fates=fates)
    warn = rec("warning", "disk almost full")
    first, second = r.split([warn])
    assert first == [warn] and second == [warn]
    assert not fates.drops
    assert "matched no sink's route" in caplog.text


def test_no_match_anywhere_hands_the_batch_over_untouched():
    records = [rec(), rec("error")]
    r = router(None, None)
    assert r.everything
    first, second = r.split(records)
    assert first == records and second is records and first is not records


# -- acknowledgements -----------------------------------------------------------------------

class HoldingSink:
    def __init__(self, name):
        self.name = name
        self.got = []

    async def put(self, records, token):
        self.got.append((records, token))


class Checkpoints:
    def __init__(self):
        self.offsets = {}

    def set(self, key, path, offset):
        self.offsets[key] = offset


def delivery(sinks, matches, checkpoints):
    return Delivery(asyncio.Queue(4), processor=None, sinks=sinks, observers=Observers(),
                    checkpoints=checkpoints, flush_at_end=True, on_isolated=lambda *a: None,
                    on_checkpoint=lambda: None, clock=lambda: 0.0, monotonic=lambda: 0.0,
                    router=router(*matches))


def file_stream(key="f"):
    return FileStream(key, f"/var/log/{key}.log",
                      FileParser(f"/var/log/{key}.log", Settings().parse, ParseCounts()))


def batch(records, offset, stream):
    """Records of ``stream``'s file, safe at ``offset`` once delivered."""
    return Batch(records, stream.key, offset, stream)


def test_checkpoint_waits_only_for_the_sinks_the_records_went_to():
    async def main():
        errors, everything = HoldingSink("errors"), HoldingSink("all")
        cps = Checkpoints()
        d, f = delivery([errors, everything], [{"min_level": "error"}, None], cps), file_stream()
        await d._deliver(batch([rec("info")], 100, f))      # everything only
        await d._deliver(batch([rec("error")], 200, f))     # both
        assert len(errors.got) == 1 and len(everything.got) == 2
        everything.got[0][1].done()
        assert cps.offsets == {"f": 100}                # the errors sink was never needed
        everything.got[1][1].done()
        assert cps.offsets == {"f": 100}                # still waiting for the errors sink
        errors.got[0][1].done()
        assert cps.offsets == {"f": 200} and d.inflight == 0

    asyncio.run(main())


def test_records_no_sink_gets_are_acknowledged_at_once():
    async def main():
        audit = HoldingSink("audit")
        cps = Checkpoints()
        d, f = delivery([audit], [{"message": "^audit"}], cps), file_stream()
        await d._deliver(batch([rec("debug", "noise")], 50, f))
        assert audit.got == [] and cps.offsets == {"f": 50} and d.inflight == 0

    asyncio.run(main())


def test_a_released_share_lets_the_checkpoint_move_on():
    async def main():
        a, b = HoldingSink("a"), HoldingSink("b")
        cps = Checkpoints()
        d, f = delivery([a, b], [None, None], cps), file_stream()
        await d._deliver(batch([rec(), rec()], 10, f))
        a.got[0][1].done()
        assert d.shares[1].open_records == 2
        assert d.shares[1].release() == 2
        assert cps.offsets == {"f": 10}
        b.got[0][1].done()  # the retired sink finishing late changes nothing
        assert cps.offsets == {"f": 10} and d.inflight == 0

    asyncio.run(main())
