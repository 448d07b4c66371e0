from app.agencies.catalogue import CATALOGUE


def test_openapi_describes_every_agency_event_type(client):
    schema = client.get("/openapi.json").json()
    body = schema["paths"]["/webhooks/agencies/{agency_id}/events"]["post"]["requestBody"]
    refs = body["content"]["application/json"]["schema"]["oneOf"]
    titles = {schema["components"]["schemas"][r["$ref"].rsplit("/", 1)[1]]["title"]
              for r in refs}
    assert titles == set(CATALOGUE)


def test_openapi_event_data_schema_lists_required_fields(client):
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    hearing = schemas["HearingScheduled"]
    assert {"hearing_id", "hearing_type", "court"} <= set(hearing["required"])
