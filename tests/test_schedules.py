import pytest

from betalib.schedules import parse_schedule


def test_rising_schedule_reaches_end():
    schedule = parse_schedule("0-50", 50)
    assert schedule(0) == 0
    assert schedule(49) == 50
    assert schedule(1) == pytest.approx(50 / 49)


def test_constant_and_falling():
    assert [parse_schedule("25", 4)(e) for e in range(4)] == [25, 25, 25, 25]
    assert [parse_schedule("25-0", 6)(e) for e in range(6)] == [25, 20, 15, 10, 5, 0]


def test_number_and_callable():
    assert parse_schedule(3.5, 10)(7) == 3.5
    schedule = parse_schedule(lambda epoch: epoch * 2.0, 10)
    assert schedule(4) == 8.0


def test_single_epoch_uses_start():
    assert parse_schedule("0-50", 1)(0) == 0


def test_decimal_bounds():
    schedule = parse_schedule("5-0.5", 10)
    assert schedule(9) == pytest.approx(0.5)


@pytest.mark.parametrize("text", ["-5", "abc", "0-", "-", "1-2-3", "nan", "inf", "", "0--50"])
def test_invalid_text_raises(text):
    with pytest.raises(ValueError, match="schedule"):
        parse_schedule(text, 10)


def test_invalid_epochs_raises():
    with pytest.raises(ValueError, match="epochs"):
        parse_schedule("0-50", 0)
