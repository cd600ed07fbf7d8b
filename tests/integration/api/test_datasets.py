"""Uploaded data sets over REST (issue 17): formats, content addressing, owner scoping, and
hostile uploads, each a 4xx problem with every table's row count unchanged and the server alive.
"""

from __future__ import annotations

import io
import zipfile

import httpx
import numpy as np
import pandas as pd
import pytest

from tests.integration.api.api_support import open_client
from tests.integration.dataset_support import (
    TARGET,
    as_csv,
    as_npz,
    as_parquet,
    breast_cancer_arrays,
    breast_cancer_files,
)

DATASETS = "/api/v1/datasets"
PROBLEM = "application/problem+json"
LIMIT = 1 << 20  # the module's SWEEPD_MAX_DATASET_BYTES
MEDIA = {"csv": "text/csv", "parquet": "application/vnd.apache.parquet",
         "npz": "application/x-npz"}


@pytest.fixture
def app(make_app):
    return make_app({"max_dataset_bytes": LIMIT})


@pytest.fixture
def assert_refused(client, counts):
    """A response is the stated problem, nothing was stored and the server still answers."""
    before = counts()

    def check(response: httpx.Response, status: int, *words: str) -> dict:
        assert response.status_code == status, response.text[:500]
        assert response.headers["content-type"] == PROBLEM
        body = response.json()
        assert body["status"] == status and body["detail"]
        for word in words:
            assert word in body["detail"], body["detail"]
        assert counts() == before
        assert client.get("/healthz").status_code == 200
        assert client.get(DATASETS).status_code == 200
        return body

    return check


def upload(client, data: bytes, fmt: str = "csv", **params):
    return client.post(DATASETS, content=data, params={"target": TARGET, **params},
                       headers={"Content-Type": MEDIA.get(fmt, fmt)})


def test_upload_dataset_same_data_in_every_format_is_one_dataset(client, counts):
    x, y = breast_cancer_arrays()
    shas, statuses = set(), []
    for fmt, data in breast_cancer_files().items():
        response = upload(client, data, fmt)
        statuses.append(response.status_code)
        body = response.json()
        shas.add(body["sha256"])
        assert (body["n_rows"], body["n_features"], body["n_classes"]) == (569, 30, 2)
        assert body["class_counts"] == np.bincount(y).tolist()
    assert len(shas) == 1 and statuses == [201, 200, 200]
    assert counts()["datasets"] == 1 and counts()["dataset_blobs"] == 1
    shown = client.get(f"{DATASETS}/{shas.pop()}").json()
    assert shown["format"] == "csv" and shown["target"] == TARGET
    assert shown["feature_names"][0] == "mean radius" and shown["size_bytes"] == 24 + 8 * 31 * 569


def test_upload_dataset_multipart_keeps_file_name(client):
    files = {"file": ("cancer.csv", breast_cancer_files()["csv"], "text/csv")}
    response = client.post(DATASETS, files=files, data={"target": TARGET})
    assert response.status_code == 201, response.text
    assert response.json()["name"] == "cancer.csv"
    assert response.headers["location"] == f"{DATASETS}/{response.json()['id']}"


def test_upload_dataset_same_data_two_owners_shares_one_blob(client, app, bob, counts):
    data = breast_cancer_files()["npz"]
    first = upload(client, data, "npz").json()
    with open_client(app, bob) as bobs:
        second = bobs.post(DATASETS, content=data, headers={"Content-Type": "application/x-npz"})
        assert second.status_code == 201
        assert second.json()["sha256"] == first["sha256"] and second.json()["id"] != first["id"]
        assert bobs.get(f"{DATASETS}/{first['id']}").status_code == 404
        assert bobs.delete(f"{DATASETS}/{first['id']}").status_code == 404
        assert counts()["datasets"] == 2 and counts()["dataset_blobs"] == 1
        assert bobs.delete(f"{DATASETS}/{second.json()['id']}").status_code == 204
    assert counts()["dataset_blobs"] == 1  # alice still has it
    assert client.get(f"{DATASETS}/{first['sha256']}").status_code == 200
    assert client.delete(f"{DATASETS}/{first['sha256']}").status_code == 204
    assert counts()["datasets"] == 0 and counts()["dataset_blobs"] == 0


def test_list_datasets_pages_newest_first(client):
    ids = [upload(client, as_csv(pd.DataFrame({"a": [1, 2, 3, 4 + i], TARGET: [0, 1, 0, 1]})))
           .json()["id"] for i in range(3)]
    page = client.get(DATASETS, params={"limit": 2}).json()
    assert page["total"] == 3 and [d["id"] for d in page["items"]] == ids[::-1][:2]


def test_get_dataset_unknown_ref_is_404(client):
    assert client.get(f"{DATASETS}/999").status_code == 404
    assert client.get(f"{DATASETS}/{'0' * 64}").status_code == 404
    assert client.get(f"{DATASETS}/..%2Fetc").status_code in (404, 422)


def _zip_bomb() -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, x=np.zeros((4_000_000, 4)), y=np.zeros(4_000_000, np.int64))
    return buffer.getvalue()


def _npz_with(**arrays: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, array in arrays.items():
            member = io.BytesIO()
            np.save(member, array, allow_pickle=True)
            archive.writestr(f"{name}.npy", member.getvalue())
    return buffer.getvalue()


def _parquet(frame: pd.DataFrame) -> bytes:
    return as_parquet(frame)


def _csv(text: str) -> bytes:
    return text.encode()


OK_LABELS = [0, 1, 0, 1]
HOSTILE = {
    # name: (body, media type, params, status, words the message must hold)
    "pickled_npz": (_npz_with(x=np.array([[1.0], [2.0]], dtype=object), y=np.array([0, 1])),
                    "application/x-npz", {}, 422, ("x", "pickle")),
    "pickled_npy": (np.lib.format.magic(1, 0) + b"{'descr': '|O'...", "application/octet-stream",
                    {}, 422, (".npy",)),
    "raw_pickle": (b"\x80\x04\x95\x00", "application/octet-stream", {}, 422, ("pickle",)),
    "csv_nan": (_csv("f1,f2,diagnosis\n1,2,0\n3,NaN,1\n5,6,0\n7,8,1\n"), "text/csv", {}, 422,
                ("'f2'", "row 2")),
    "csv_inf": (_csv("f1,f2,diagnosis\n1,2,0\n3,4,1\ninf,6,0\n7,8,1\n"), "text/csv", {}, 422,
                ("'f1'", "row 3")),
    "csv_text": (_csv("f1,f2,diagnosis\n1,2,0\n3,4,1\n5,six,0\n7,8,1\n"), "text/csv", {}, 422,
                 ("'f2'", "row 3")),
    "csv_no_target": (_csv("f1,f2,label\n1,2,0\n3,4,1\n5,6,0\n7,8,1\n"), "text/csv", {}, 422,
                      ("'diagnosis'",)),
    "csv_one_class": (_csv("f1,diagnosis\n1,0\n2,0\n3,0\n"), "text/csv", {}, 422, ("one class",)),
    "csv_single_row_class": (_csv("f1,diagnosis\n1,0\n2,0\n3,1\n"), "text/csv", {}, 422,
                             ("class '1'", "row 3")),
    "csv_zero_rows": (_csv("f1,f2,diagnosis\n"), "text/csv", {}, 422, ("no rows",)),
    "empty_body": (b"", "text/csv", {}, 422, ("header",)),
    "csv_million_columns": (_csv(",".join(f"c{i}" for i in range(1_000_000)) + "\n"),
                            "text/csv", {}, 413, ()),
    "csv_too_many_columns": (_csv(",".join(f"c{i}" for i in range(1_500)) + ",diagnosis\n"),
                             "text/csv", {}, 422, ("1,501 columns",)),
    "zip_bomb": (_zip_bomb(), "application/x-npz", {}, 422, ("unpacks to", "refused unread")),
    "npz_extra_member": (as_npz(np.ones((4, 1)), np.array(OK_LABELS), z=np.ones(1)),
                         "application/x-npz", {}, 422, ("exactly the arrays x and y",)),
    "parquet_nested": (_parquet(pd.DataFrame({"f": [[1], [2], [3], [4]], TARGET: OK_LABELS})),
                       "application/vnd.apache.parquet", {}, 422, ("'f'", "nested")),
    "parquet_string": (_parquet(pd.DataFrame({"f": ["a", "b", "c", "d"], TARGET: OK_LABELS})),
                       "application/vnd.apache.parquet", {}, 422, ("'f'", "not numeric")),
    "declared_parquet_is_csv": (_csv("f1,diagnosis\n1,0\n2,1\n"),
                                "application/vnd.apache.parquet", {}, 422, ("not parquet",)),
    "filename_dotdot": (_csv("f1,diagnosis\n1,0\n2,1\n3,0\n4,1\n"), "text/csv",
                        {"filename": "../../etc/passwd"}, 422, ("file name",)),
    "filename_nul": (_csv("f1,diagnosis\n1,0\n2,1\n3,0\n4,1\n"), "text/csv",
                     {"filename": "a\x00.csv"}, 422, ("file name",)),
    "json_body": (b'{"x": [1]}', "application/json", {}, 415, ()),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_upload_dataset_hostile_refused_without_storing(client, assert_refused, case):
    body, media, params, status, words = HOSTILE[case]
    response = client.post(DATASETS, content=body, params={"target": TARGET, **params},
                           headers={"Content-Type": media})
    assert_refused(response, status, *words)


def test_upload_dataset_multipart_filename_with_path_refused(client, assert_refused):
    files = {"file": ("../x.csv", _csv("f1,diagnosis\n1,0\n2,1\n3,0\n4,1\n"), "text/csv")}
    assert_refused(client.post(DATASETS, files=files, data={"target": TARGET}), 422, "file name")


def test_upload_dataset_over_limit_with_length_is_413(client, assert_refused):
    body = b"f1,diagnosis\n" + b"1,0\n" * (LIMIT // 4 + 1)
    response = upload(client, body)
    assert int(response.request.headers["content-length"]) > LIMIT
    assert_refused(response, 413, str(LIMIT))


def test_upload_dataset_over_limit_chunked_is_413(live_url, alice, assert_refused):
    def chunks():
        yield b"f1,diagnosis\n"
        for _ in range(LIMIT // 65536 + 2):
            yield b"1,0\n" * 16384

    response = httpx.post(f"{live_url}{DATASETS}", content=chunks(), params={"target": TARGET},
                          timeout=30, headers={**alice.headers, "Content-Type": "text/csv"})
    assert "content-length" not in response.request.headers
    # The route's counter (LIMIT) or the app's (LIMIT + the multipart allowance) cuts it off,
    # depending on how the server groups the chunks.
    assert_refused(response, 413, "larger than the limit")


def test_upload_dataset_under_limit_chunked_is_accepted(live_url, alice, counts):
    data = breast_cancer_files()["csv"]
    response = httpx.post(f"{live_url}{DATASETS}", params={"target": TARGET}, timeout=30,
                          content=iter([data[:1000], data[1000:]]),
                          headers={**alice.headers, "Content-Type": "text/csv"})
    assert response.status_code == 201, response.text
    assert counts()["datasets"] == 1


def test_upload_dataset_needs_a_token(anonymous, counts):
    response = anonymous.post(DATASETS, content=b"f1,diagnosis\n1,0\n",
                              headers={"Content-Type": "text/csv"})
    assert response.status_code == 401 and counts()["datasets"] == 0


def uploaded_spec(ref, **changes) -> dict:
    return {"name": "byod", "dataset": {"name": "uploaded", "id": ref, "test_fraction": 0.25},
            "model": {"hidden": [4]}, "training": {"steps": 10},
            "seeds": {"start": 0, "count": 2}, "initializers": ["glorot_uniform"], **changes}


def test_sdk_upload_dataset_from_frame_arrays_and_path_is_one_dataset(live_url, alice,
                                                                      tmp_path):
    from sweepd.client import Client
    from tests.integration.dataset_support import breast_cancer_frame

    path = tmp_path / "cancer.parquet"
    path.write_bytes(breast_cancer_files()["parquet"])
    with Client(url=live_url, token=alice.token) as sdk:
        framed = sdk.upload_dataset(breast_cancer_frame(), target=TARGET)
        arrays = sdk.upload_dataset(*breast_cancer_arrays())
        filed = sdk.upload_dataset(path=path, target=TARGET)
        assert framed.created and not arrays.created and not filed.created
        assert framed.sha256 == arrays.sha256 == filed.sha256
        assert [d.id for d in sdk.list_datasets()] == [framed.id]
        assert sdk.get_dataset(framed.sha256).n_rows == 569
        sdk.delete_dataset(framed.id)
        assert sdk.list_datasets() == []


def test_submit_sweep_on_uploaded_dataset_scoped_and_delete_in_use_409(client, app, bob,
                                                                       counts):
    record = upload(client, breast_cancer_files()["npz"], "npz").json()
    with open_client(app, bob) as bobs:
        before = counts()
        refused = bobs.post("/api/v1/sweeps", json=uploaded_spec(record["id"]))
        assert refused.status_code == 404 and counts() == before
        assert bobs.post("/api/v1/sweeps",
                         json=uploaded_spec(record["sha256"])).status_code == 404
    sweep = client.post("/api/v1/sweeps", json=uploaded_spec(record["id"]))
    assert sweep.status_code == 201, sweep.text
    assert sweep.json()["spec"]["dataset"]["id"] == record["sha256"]
    busy = client.delete(f"{DATASETS}/{record['id']}")
    assert busy.status_code == 409 and str(sweep.json()["id"]) in busy.json()["detail"]
    client.post(f"/api/v1/sweeps/{sweep.json()['id']}/cancel")
    assert client.delete(f"{DATASETS}/{record['id']}").status_code == 204


def test_submit_sweep_on_uploaded_dataset_checks_its_classes(client):
    frame = pd.DataFrame({"a": range(9), TARGET: [0, 1, 2] * 3})
    record = upload(client, as_csv(frame)).json()
    spec = uploaded_spec(record["id"], model={"hidden": [4], "output": "sigmoid"})
    refused = client.post("/api/v1/sweeps", json=spec)
    assert refused.status_code == 422 and "3" in refused.json()["detail"]


def _regression_csv() -> bytes:
    x, _ = breast_cancer_arrays()
    frame = pd.DataFrame(x[:, :3], columns=["a", "b", "c"])
    frame[TARGET] = x[:, 3]  # a measurement, not a class: a regression target
    return frame.to_csv(index=False, float_format="%.17g").encode()


def test_upload_dataset_regression_target_by_query_and_by_form_field(client, counts):
    data = _regression_csv()
    response = upload(client, data)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["task"] == "regression" and body["n_classes"] == 0
    assert body["class_names"] == [] and body["class_counts"] == []
    assert client.get(f"{DATASETS}/{body['id']}").json()["task"] == "regression"
    files = {"file": ("m.csv", data, "text/csv")}
    again = client.post(DATASETS, files=files, data={"target": TARGET, "task": "regression"})
    assert again.status_code == 200 and again.json()["id"] == body["id"]


@pytest.mark.parametrize("how", ["query", "form"])
def test_upload_dataset_unknown_task_refused(client, assert_refused, how):
    data = _regression_csv()
    if how == "query":
        response = upload(client, data, task="clustering")
    else:
        response = client.post(DATASETS, files={"file": ("m.csv", data, "text/csv")},
                               data={"target": TARGET, "task": "clustering"})
    assert_refused(response, 422)
