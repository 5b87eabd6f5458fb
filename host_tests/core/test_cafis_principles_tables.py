"""3.3.1 decision tables as data: every cell against the seed's own table text."""
from faxbridge.core.cafis import principles as P
from cafis_session_helpers import CIRCLES, SEED_T1, SEED_T1_HEAD, SEED_T2, SEED_T2_HEAD, head, parse

def test_table1_every_cell_matches_the_seed():
    seed = parse(SEED_T1)
    assert len(seed) == len(P.T1_ROWS) == 9
    n = 0
    for i in range(len(seed)):
        label, acts = seed[i]
        key, plabel, _ = P.T1_ROWS[i]
        assert plabel == label, (plabel, label)
        assert len(acts) == len(P.T1_COLS) == 7
        for j in range(len(acts)):
            assert P.cafis_action(key, P.T1_COLS[j][0]) == acts[j], (label, j)
            n += 1
    assert n == 63


def test_table2_every_cell_matches_the_seed():
    seed = parse(SEED_T2)
    assert len(seed) == len(P.T2_ROWS) == 8
    n = 0
    for i in range(len(seed)):
        label, acts = seed[i]
        key, plabel, _ = P.T2_ROWS[i]
        assert plabel == label, (plabel, label)
        assert len(acts) == len(P.T2_COLS) == 9
        for j in range(len(acts)):
            assert P.member_action(key, P.T2_COLS[j][0]) == acts[j], (label, j)
            n += 1
    assert n == 72


def test_column_labels_follow_the_seed():
    assert [c[1] for c in P.T1_COLS] == head(SEED_T1_HEAD)
    assert [c[1] for c in P.T2_COLS] == head(SEED_T2_HEAD)


def test_actions_numbered_and_texts_present():
    assert [a[0] for a in P.T1_ACTIONS] == list(range(1, 8))
    assert [a[0] for a in P.T2_ACTIONS] == list(range(1, 13))
    for a in P.T1_ACTIONS + P.T2_ACTIONS:
        assert a[1] == CIRCLES[a[0] - 1] and a[2] and a[3]


def test_idle_rows_use_only_existing_actions():
    assert len(P.T1_IDLE[2]) == 7 and len(P.T2_IDLE[2]) == 9
    for a in P.T1_IDLE[2]:
        assert 1 <= a <= 7
    for a in P.T2_IDLE[2]:
        assert 1 <= a <= 12
    assert P.cafis_action("idle", "restart_req") == 3
    assert P.member_action("idle", "other_report") == 9


def test_unknown_keys_raise_and_rule_cites():
    from support import raises
    raises(KeyError, P.cafis_action, "nope", "request")
    raises(KeyError, P.member_action, "request", "nope")
    assert P.rule(2, "restart_req", "counter", 10) == "3.3.1(2) 再開始要求×カウンタ通知 ⑩"
    assert P.rule(1, "member_fault", "line_check", 7) == "3.3.1(1) 貴社センタ障害中×回線復旧確認指令 ⑦"
