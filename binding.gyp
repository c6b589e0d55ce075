{
  # The isapi-host addon (native/host): node-gyp builds it offline against the installed
  # Node's headers (.npmrc nodedir=/usr). scripts/asan-host.sh rebuilds it with
  # `-Dsanitize=1` for AddressSanitizer and UndefinedBehaviorSanitizer, and scripts/tsan-dll.sh
  # with `-Dsanitize=2` for ThreadSanitizer (scripts/sanitized-addon.sh).
  "variables": {
    "sanitize%": 0
  },
  "targets": [
    {
      "target_name": "isapi_host",
      "sources": [
        "native/host/addon/addon.cc",
        "native/host/addon/event_sink.cc",
        "native/host/addon/host_object.cc",
        "native/host/core/body_buffer.cc",
        "native/host/core/chunk_parser.cc",
        "native/host/core/connections.cc",
        "native/host/core/extension.cc",
        "native/host/core/host.cc",
        "native/host/core/request.cc",
        "native/host/core/response_head.cc",
        "native/host/core/response_vector.cc",
        "native/host/core/server_variables.cc",
        "native/host/core/text_encoding.cc",
        "native/host/core/thread_pool.cc",
        "native/host/core/verifier_policy.cc",
        "native/host/core/write_queue.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "native/include"
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17", "-std=gnu++20"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-Wall", "-Wextra"],
      "libraries": ["-ldl", "-lpthread"],
      "xcode_settings": {
        "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
        "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
        "OTHER_CPLUSPLUSFLAGS": ["-Wall", "-Wextra"]
      },
      "msvs_settings": {
        "VCCLCompilerTool": { "ExceptionHandling": 1, "AdditionalOptions": ["/std:c++17"] }
      },
      "conditions": [
        ["sanitize==1", {
          "cflags_cc": ["-fsanitize=address,undefined", "-fno-sanitize=vptr", "-fno-omit-frame-pointer", "-g"],
          "ldflags": ["-fsanitize=address,undefined"]
        }],
        ["sanitize==2", {
          "cflags_cc": ["-fsanitize=thread", "-fno-omit-frame-pointer", "-g"],
          "ldflags": ["-fsanitize=thread"]
        }]
      ]
    }
  ]
}
