"""Feed and report documents, and the presigned-style URLs that carry their bytes.

Amazon hands out S3 presigned URLs: whoever holds one may PUT (upload a feed) or GET
(download a result) for five minutes, without an access token. The sandbox serves the same
from its own server: each URL path holds a fresh random token, granted for one method on one
document. Only a hash of the token is stored, so the state file holds no usable URL.

Results larger than `gzip_threshold` bytes are stored gzipped and described with
`compressionAlgorithm: GZIP`, as Amazon does for large reports; the download serves the
compressed bytes unchanged (no Content-Encoding), so the client decompresses, as with S3.
"""

from __future__ import annotations

import gzip
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from engine.sandbox.account import ApiError, invalid_input
from engine.sandbox.clock import Clock
from engine.sandbox.store import Document, Store, Tx

URL_LIFETIME_SECONDS = 300  # Amazon's presigned document URLs last five minutes
GZIP_THRESHOLD = 64 * 1024
URL_PATH = "/sandbox-documents/"


@dataclass(frozen=True, slots=True)
class Grant:
    """A document id with a URL token for it (`compression` when the bytes are gzipped)."""

    document_id: str
    token: str
    compression: str | None = None


def new_document_id() -> str:
    return "amzn1.tortuga.4.sandbox." + uuid.uuid4().hex


class Documents:
    """Create documents, grant URLs for them, and serve those URLs."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        gzip_threshold: int = GZIP_THRESHOLD,
        new_token: Callable[[], str] = lambda: secrets.token_urlsafe(32),
    ) -> None:
        self.store = store
        self.clock = clock
        self.gzip_threshold = gzip_threshold
        self._new_token = new_token

    def create_upload(self, body: object, wall_now: float) -> Grant:
        """createFeedDocument: an empty document and a URL to PUT its content to."""
        if not isinstance(body, dict) or not isinstance(body.get("contentType"), str):
            raise invalid_input("'contentType' is required and must be a string.")
        document = Document(
            id=new_document_id(),
            content_type=body["contentType"],
            compression=None,
            content=None,
            sealed=False,
            created_at=self.clock.now(),
        )
        token = self._new_token()
        with self.store.write() as tx:
            tx.add_document(document)
            self._grant(tx, token, document.id, "PUT", wall_now)
        return Grant(document.id, token)

    def save_result(self, tx: Tx, content: bytes, content_type: str, created_at: datetime) -> str:
        """Store a processing result or report (gzipped when large); returns its id."""
        compression = None
        if len(content) > self.gzip_threshold:
            content, compression = gzip.compress(content, mtime=0), "GZIP"
        document = Document(
            id=new_document_id(),
            content_type=content_type,
            compression=compression,
            content=content,
            sealed=True,
            created_at=created_at,
        )
        tx.add_document(document)
        return document.id

    def download_grant(self, document_id: str, wall_now: float) -> Grant:
        """getFeedDocument / getReportDocument: a fresh URL to GET a document's bytes."""
        token = self._new_token()
        with self.store.write() as tx:
            document = tx.document(document_id)
            if document is None or document.content is None:
                raise ApiError(404, "NotFound", f"Document '{document_id}' does not exist.")
            self._grant(tx, token, document_id, "GET", wall_now)
        return Grant(document_id, token, document.compression)

    @staticmethod
    def _grant(tx: Tx, token: str, document_id: str, method: str, wall_now: float) -> None:
        tx.add_document_url(
            token, document_id, method, wall_now + URL_LIFETIME_SECONDS, wall_now=wall_now
        )

    def upload(self, token: str, content: bytes, wall_now: float) -> None:
        with self.store.write() as tx:
            document_id = tx.document_for_url(token, "PUT", wall_now)
            if document_id is None:
                raise _access_denied()
            if not tx.upload_document(document_id, content):
                raise ApiError(
                    403, "AccessDenied", "The document was already submitted with a feed."
                )

    def download(self, token: str, wall_now: float) -> Document:
        with self.store.read() as tx:
            document_id = tx.document_for_url(token, "GET", wall_now)
            document = None if document_id is None else tx.document(document_id)
        if document is None or document.content is None:
            raise _access_denied()
        return document


def _access_denied() -> ApiError:
    return ApiError(403, "AccessDenied", "Request has expired or the URL is not valid.")
