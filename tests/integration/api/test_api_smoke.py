from __future__ import annotations

async def test_upload_then_get(client, register, upload):
    headers = await register(client)
    r = await upload(client, headers, fields={"tags": "a,b", "metadata": '{"album": "x"}'})
    print(r.status_code, r.text)
    assert r.status_code == 201
    pid = r.json()["id"]
    r = await client.get(f"/v1/photos/{pid}", headers=headers)
    print(r.json())
    r = await client.get("/v1/photos", headers=headers)
    print(r.json())
    r = await client.get(f"/v1/photos/{pid}/download", headers=headers)
    print(r.json())
    r = await client.get("/ready")
    print(r.json())
    r = await client.get("/metrics")
    print(r.text[-800:])
