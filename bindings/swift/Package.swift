// swift-tools-version:5.9
//
// wxnet for Swift (iOS, macOS, Linux): `CWxnet` exposes the project's C header
// (include/wxnet.h, not a copy) and links libwxnet; `WxNet` is the Swift API.
//
// Building here needs the library on the linker path, e.g.
//   cargo build && swift build -Xlinker -L../../target/debug
// (scripts/test-swift.sh does it all, in a Debian chroot with Swift). An iOS app
// consumes a wxnet XCFramework instead: see README.md.
import PackageDescription

let package = Package(
    name: "WxNet",
    platforms: [.macOS(.v12), .iOS(.v15)],
    products: [
        .library(name: "WxNet", targets: ["WxNet"]),
    ],
    targets: [
        .systemLibrary(name: "CWxnet", path: "Sources/CWxnet"),
        .target(name: "WxNet", dependencies: ["CWxnet"], path: "Sources/WxNet"),
        .testTarget(name: "WxNetTests", dependencies: ["WxNet", "CWxnet"], path: "Tests/WxNetTests"),
    ]
)
