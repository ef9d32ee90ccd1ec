"""/healthz (webapp/health) when the database and the queue are up; the down cases are in tests/production."""


def test_healthz_reports_database_and_queue(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"database": "ok", "queue": "ok", "status": "ok"}
