"""Feed and report documents, and the presigned-style URLs that carry their bytes.

Amazon hands out S3 presigned URLs: whoever holds one may PUT (upload a feed) or GET
(download a result) for five minutes, without an access token ("This URL expires after 5
minutes": createFeedDocument's and getFeedDocument's `url` in the Feeds API model,
feeds_2021-06-30.json; the Reports API's likewise). The sandbox serves the same from its own
server: each URL path holds a fresh random token, granted for one method on one document.
Only a hash of the token is stored, so the state file holds no usable URL.

They fail as S3 fails (`S3Error`): an XML `<Error>` with `Code`, `Message`, `RequestId` and
`HostId` (Amazon S3 API Reference, "Error responses":
https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html), not SP-API's JSON:
- an upload URL is signed over the content type given to createFeedDocument, so a PUT with
  another `Content-Type` (or none) is `403 SignatureDoesNotMatch` (a presigned PUT must
  send the headers it was signed with: "Sharing objects with presigned URLs",
  https://docs.aws.amazon.com/AmazonS3/latest/userguide/ShareObjectPreSignedURL.html);
- after five minutes, `403 AccessDenied` "Request has expired", with `X-Amz-Expires`,
  `Expires` and `ServerTime` as S3 adds them;
- a PUT to a document a feed already consumed is `403 AccessDenied`. (S3 itself would
  store a second PUT within the five minutes, but Amazon has read the document by then; the
  sandbox refuses it so that a client relying on it finds out.)

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
from datetime import UTC, datetime
from xml.sax.saxutils import escape

from engine.sandbox.account import ApiError, invalid_input
from engine.sandbox.clock import Clock
from engine.sandbox.store import Document, Store, Tx

URL_LIFETIME_SECONDS = 300  # Amazon's presigned document URLs last five minutes
GZIP_THRESHOLD = 64 * 1024
URL_PATH = "/sandbox-documents/"
SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your key and signing method."
)


class S3Error(Exception):
    """An error as S3 answers a presigned URL: status, Code, Message and extra elements."""

    def __init__(
        self, status: int, code: str, message: str, extra: tuple[tuple[str, str], ...] = ()
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra

    def xml(self, request_id: str) -> bytes:
        elements = [("Code", self.code), ("Message", self.message), *self.extra]
        elements += [("RequestId", request_id), ("HostId", "sellersync-sandbox")]
        body = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in elements)
        return f'<?xml version="1.0" encoding="UTF-8"?>\n<Error>{body}</Error>'.encode()


def _iso(wall: float) -> str:
    return datetime.fromtimestamp(wall, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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

    def upload(self, token: str, content: bytes, content_type: str | None, wall_now: float) -> None:
        """PUT to an upload URL: stored when the grant holds, is unexpired, the Content-Type
        is the one it was signed over and no feed consumed the document; else S3Error."""
        with self.store.write() as tx:
            document = _granted(tx, token, "PUT", wall_now)
            if content_type != document.content_type:
                raise S3Error(403, "SignatureDoesNotMatch", SIGNATURE_MISMATCH)
            if not tx.upload_document(document.id, content):
                raise S3Error(403, "AccessDenied", "Access Denied")

    def download(self, token: str, wall_now: float) -> Document:
        with self.store.read() as tx:
            document = _granted(tx, token, "GET", wall_now)
        if document.content is None:
            raise S3Error(404, "NoSuchKey", "The specified key does not exist.")
        return document


def _granted(tx: Tx, token: str, method: str, wall_now: float) -> Document:
    """The document `token` grants `method` on, or S3's refusal."""
    grant = tx.document_url(token, method)
    document = None if grant is None else tx.document(grant[0])
    if grant is None or document is None:
        raise S3Error(403, "AccessDenied", "Access Denied")
    expires = grant[1]
    if wall_now > expires:
        raise S3Error(
            403,
            "AccessDenied",
            "Request has expired",
            (
                ("X-Amz-Expires", str(URL_LIFETIME_SECONDS)),
                ("Expires", _iso(expires)),
                ("ServerTime", _iso(wall_now)),
            ),
        )
    return document
