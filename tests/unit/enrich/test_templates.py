"""Path templates pull fields out of trailing path segments; the first match wins."""

import pytest

from shipper.enrich.templates import PathTemplates, compile_template


def test_issue_example_gives_job_and_stage():
    templates = PathTemplates(["{job_id}/{stage}/stage.log"])
    assert templates.fields("/logs/run-42/05_asr/stage.log") == {"job_id": "run-42", "stage": "05_asr"}


def test_star_matches_text_within_one_segment_only():
    templates = PathTemplates(["{job_id}/logs/*.log"])
    assert templates.fields("/x/20251127-158299/logs/99_pipeline_1.log") == {"job_id": "20251127-158299"}
    assert templates.fields("/x/j/logs/deeper/a.log") == {}


def test_first_matching_template_wins():
    templates = PathTemplates(["{job_id}/logs/*.log", "{job_id}/{stage}/stage.log", "{other}/{x}/{y}"])
    assert templates.fields("/a/j1/logs/p.log") == {"job_id": "j1"}
    assert templates.fields("/a/j1/s1/stage.log") == {"job_id": "j1", "stage": "s1"}


def test_field_matches_a_whole_segment_not_part_of_one():
    templates = PathTemplates(["{job_id}/stage.log"])
    assert templates.fields("/a/bstage.log") == {}
    assert templates.fields("stage.log") == {}


@pytest.mark.parametrize("bad", ["{a}/{a}", "plain/path.log", "{unclosed/x", "x}/y", ""])
def test_bad_templates_are_rejected(bad):
    with pytest.raises(ValueError, match="invalid path template"):
        compile_template(bad)
