"""TypedDicts of the wx options objects and the app config, for type checkers and
editors. At run time they are plain dicts: the library validates every field and
rejects unknown or ill-typed ones with a message naming the field."""


from typing import Any, Dict, List, Union

try:  # Python >= 3.11
    from typing import Literal, Required, TypedDict
except ImportError:  # pragma: no cover - Python 3.9/3.10
    from typing_extensions import Literal, Required, TypedDict  # type: ignore[assignment]

Method = Literal["OPTIONS", "GET", "HEAD", "POST", "PUT", "DELETE", "TRACE", "CONNECT"]


class RequestOptions(TypedDict, total=False):
    """``wx.request`` options. ``data`` may also be bytes-like: it is then sent as the
    binary body (an ArrayBuffer in wx terms)."""

    url: Required[str]
    data: Union[str, Dict[str, Any], List[Any], bytes, bytearray, memoryview]
    header: Dict[str, str]
    timeout: int
    method: Union[Method, str]
    dataType: str
    responseType: Literal["text", "arraybuffer"]
    enableHttp2: bool
    enableQuic: bool
    enableCache: bool
    enableChunked: bool
    redirect: Literal["follow", "manual"]
    enableHttpDNS: bool
    httpDNSServiceId: str
    forceCellularNetwork: bool
    useHighPerformanceMode: bool
    enableProfile: bool


class UploadFileOptions(TypedDict, total=False):
    """``wx.uploadFile`` options: ``filePath`` is a sandbox path (``wxfile://…``)."""

    url: Required[str]
    filePath: Required[str]
    name: Required[str]
    header: Dict[str, str]
    formData: Dict[str, Any]
    timeout: int


class DownloadFileOptions(TypedDict, total=False):
    """``wx.downloadFile`` options: ``filePath`` (optional) is under ``wxfile://usr/``."""

    url: Required[str]
    header: Dict[str, str]
    timeout: int
    filePath: str


class ConnectSocketOptions(TypedDict, total=False):
    """``wx.connectSocket`` options."""

    url: Required[str]
    header: Dict[str, str]
    protocols: List[str]
    tcpNoDelay: bool
    perMessageDeflate: bool
    timeout: int
    forceCellularNetwork: bool


class Domains(TypedDict, total=False):
    """The app's allowed domains per API (``https://host[:port]`` / ``wss://…``)."""

    request: List[str]
    socket: List[str]
    uploadFile: List[str]
    downloadFile: List[str]


class NetworkTimeout(TypedDict, total=False):
    """Default timeouts per API, in milliseconds."""

    request: int
    connectSocket: int
    uploadFile: int
    downloadFile: int


class AppConfig(TypedDict, total=False):
    """The app config given to :class:`~wxnet.App` (``appId`` is required)."""

    appId: Required[str]
    version: str
    domains: Domains
    urlCheck: bool
    tlsVerify: bool
    allowLan: bool
    networkTimeout: NetworkTimeout
    maxTimeoutMs: int
    maxConcurrentRequests: int
    maxSockets: int
    maxDomainsPerType: int
    maxDownloadBytes: int
    backgroundGraceMs: int
    tempDir: str
    userDataDir: str
    cacheDir: str
    caCertificates: List[str]
    resolve: Dict[str, str]
    cookieJar: bool


__all__ = [
    "RequestOptions", "UploadFileOptions", "DownloadFileOptions", "ConnectSocketOptions",
    "AppConfig", "Domains", "NetworkTimeout",
]
