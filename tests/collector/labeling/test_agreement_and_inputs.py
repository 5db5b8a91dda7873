"""Agreement figures against values computed by hand, and each input type's validation."""

from __future__ import annotations

import pytest

from otel_feedback_collector.labeling.agreement import schema_agreement
from otel_feedback.label_schemas import (
    InputCategorical,
    InputCategoricalList,
    InputNumeric,
    InputText,
    InputTextList,
    LabelSchema,
    input_from_dict,
)


def test_two_raters_percent_agreement_kappa_and_alpha_by_hand() -> None:
    ratings = {"t1": {"ann": "A", "bob": "A"}, "t2": {"ann": "A", "bob": "B"},
               "t3": {"ann": "B", "bob": "B"}, "t4": {"ann": "B", "bob": "B"}}
    result = schema_agreement("accuracy", ratings)
    # 3 of 4 items agree.
    assert result.percent_agreement == pytest.approx(0.75)
    # p_e = P(ann A)P(bob A) + P(ann B)P(bob B) = .5*.25 + .5*.75 = .5; kappa = (.75-.5)/(1-.5).
    assert result.cohens_kappa == pytest.approx(0.5)
    # Coincidences: o_AA=2, o_AB=o_BA=1, o_BB=4; n_A=3, n_B=5, n=8; alpha = 1 - 7*2/(2*3*5).
    assert result.krippendorff_alpha == pytest.approx(1 - 14 / 30)
    assert result.disagreements == ["t2"] and result.items_compared == 4


def test_three_raters_with_a_missing_answer_by_hand() -> None:
    ratings = {"t1": {"a": "A", "b": "A", "c": "A"}, "t2": {"a": "A", "b": "B"}, "t3": {"a": "B"}}
    result = schema_agreement("accuracy", ratings)
    assert result.items_compared == 2  # t3 has one answer: not pairable
    assert result.percent_agreement == pytest.approx(0.5)  # (1 + 0) / 2
    assert result.cohens_kappa is None  # three raters
    # t1: 6 ordered pairs weighted 1/2 -> o_AA=3; t2: o_AB=o_BA=1; n_A=4, n_B=1, n=5; 1 - 4*2/(2*4*1) = 0.
    assert result.krippendorff_alpha == pytest.approx(0.0)


def test_lists_compare_as_sets_and_no_variation_leaves_chance_figures_undefined() -> None:
    result = schema_agreement("tags", {"t1": {"a": ["x", "y"], "b": ["y", "x"]}})
    assert result.percent_agreement == 1.0 and result.disagreements == []
    assert result.cohens_kappa is None and result.krippendorff_alpha is None


@pytest.mark.parametrize(
    ("control", "good", "bad", "message"),
    [
        (InputCategorical(["Accurate", "Inaccurate"]), "Accurate", "Mostly", "is not one of the options"),
        (InputCategoricalList(["a", "b"]), ["b", "a"], ["a", "c"], "are not among the options"),
        (InputText(max_length=5), "short", "too long", "at most 5 are allowed"),
        (InputTextList(max_length_each=3, max_count=2), ["ab", "cd"], ["a", "b", "c"], "at most 2 are allowed"),
        (InputTextList(max_length_each=3), ["abc"], ["abcd"], "at most 3 are allowed"),
        (InputNumeric(min_value=0, max_value=1), 0.75, 1.5, "above the maximum 1"),
        (InputNumeric(min_value=0, max_value=1), 0, -1, "below the minimum 0"),
        (InputNumeric(), 3, "3", "must be a number"),
    ],
)
def test_each_input_type_accepts_good_answers_and_refuses_bad_ones(control, good, bad, message) -> None:
    assert control.validate(good) is not None
    with pytest.raises(ValueError, match=message):
        control.validate(bad)
    assert input_from_dict(control.to_dict()) == control


def test_schema_definitions_are_checked_when_created() -> None:
    with pytest.raises(ValueError, match="options must not repeat"):
        InputCategorical(["a", "a"])
    with pytest.raises(ValueError, match="min_value"):
        InputNumeric(min_value=2, max_value=1)
    with pytest.raises(ValueError, match="type must be 'feedback' or 'expectation'"):
        LabelSchema(name="x", type="opinion", title="t", input=InputText())  # type: ignore[arg-type]
    schema = LabelSchema(name="x", type="feedback", title="t", input=InputCategoricalList(["a"]), enable_comment=True)
    assert LabelSchema.from_dict(schema.to_dict()) == schema
