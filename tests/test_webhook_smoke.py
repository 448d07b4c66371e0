from tests.agency_client import opened


def test_case_opened_is_accepted_then_duplicate(police):
    first = police.send("case.opened", "01/00001/26", opened(), webhook_id="w-1")
    assert first.status_code == 202, first.text
    assert first.json() == {"status": "accepted", "event_id": "w-1"}
    again = police.send("case.opened", "01/00001/26", opened(), webhook_id="w-1")
    assert again.status_code == 200
    assert again.json()["status"] == "duplicate"
