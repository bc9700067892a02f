// swift-tools-version:6.0
//
// wxnet for Swift (iOS, macOS, Linux), as a SwiftPM package at the repository root so that
// another package can depend on it by URL:
//
//     .package(url: "https://github.com/<owner>/wxnet.git", from: "0.1.0")
//     .product(name: "WxNet", package: "wxnet")
//
// Two targets: `CWxnet` (the C ABI, module name `CWxnet`) and `WxNet` (the Swift API, in
// bindings/swift). Where `CWxnet` comes from depends on the machine that builds:
//
// - Apple (Xcode / SwiftPM on macOS, building for iOS or macOS): a `binaryTarget`, the
//   static XCFramework made by scripts/build-ios.sh (`CWxnet.xcframework`: libwxnet.a,
//   wxnet.h and a module map for `CWxnet`). A published release sets `xcframeworkRelease`
//   below to the zipped XCFramework's URL and checksum (`swift package compute-checksum`);
//   otherwise the package uses the one built in place at target/ios/CWxnet.xcframework.
// - Linux: a system-library target whose module map uses this package's own
//   include/wxnet.h (bindings/swift/Sources/CWxnet/module.modulemap) and links `-lwxnet`,
//   the libwxnet.so built from this package's Rust sources (`cargo build --release --lib`),
//   found through pkg-config (`scripts/swift-pkgconfig.sh target/release` writes wxnet.pc),
//   or installed, or passed with `swift build -Xlinker -L<dir>` (bindings/swift/README.md).
//
// No path leaves the package root and no target uses unsafe flags, so a versioned
// dependency by URL is allowed. Swift 6 language mode throughout.
import PackageDescription

/// The published XCFramework (zip URL and SwiftPM checksum) of a release, or nil to use the
/// one scripts/build-ios.sh builds in place.
let xcframeworkRelease: (url: String, checksum: String)? = nil

// The target that provides module `CWxnet` (SwiftPM wants a binary target named like its
// artifact: `CWxnet.xcframework`).
#if os(Linux)
let cModule: Target = .systemLibrary(name: "CWxnet", path: "bindings/swift/Sources/CWxnet", pkgConfig: "wxnet")
#else
let cModule: Target = xcframeworkRelease.map { .binaryTarget(name: "CWxnet", url: $0.url, checksum: $0.checksum) }
    ?? .binaryTarget(name: "CWxnet", path: "target/ios/CWxnet.xcframework")
#endif

let package = Package(
    name: "wxnet",
    platforms: [.macOS(.v12), .iOS(.v15)],
    products: [
        .library(name: "WxNet", targets: ["WxNet"]),
    ],
    targets: [
        cModule,
        .target(
            name: "WxNet",
            dependencies: ["CWxnet"],
            path: "bindings/swift/Sources/WxNet",
            linkerSettings: [
                // rustls-platform-verifier checks certificates with the system trust store.
                .linkedFramework("Security", .when(platforms: [.iOS, .macOS])),
                .linkedFramework("CoreFoundation", .when(platforms: [.iOS, .macOS])),
            ]
        ),
        .testTarget(name: "WxNetTests", dependencies: ["WxNet", "CWxnet"], path: "bindings/swift/Tests/WxNetTests"),
    ],
    swiftLanguageModes: [.v6]
)
