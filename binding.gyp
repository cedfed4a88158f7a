# nodegrad.node: the portable CPU addon. The addon itself is built for the target's baseline ISA; each SIMD
# ISA's kernels live in their own static library compiled with that ISA's flags, and dispatch/ calls them
# only after cpuid/xgetbv said the CPU and OS support them (native/dispatch/dispatch.cc).
{
  'target_defaults': {
    'include_dirs': ['native/include'],
    'defines': ['NAPI_VERSION=8', 'NAPI_CPP_EXCEPTIONS', 'NODE_ADDON_API_DISABLE_DEPRECATED'],
    # -ffp-contract=off: no silent a*b+c -> fma, so every ISA path rounds like the reference.
    # -fno-math-errno: sqrt need not set errno (nothing reads it), so loops with sqrt vectorise; results unchanged.
    'cflags': ['-O3', '-fvisibility=hidden', '-ffp-contract=off', '-fno-math-errno'],
    'cflags!': ['-fno-exceptions'],
    'cflags_cc': ['-std=c++17', '-fexceptions'],
    'cflags_cc!': ['-fno-exceptions', '-std=gnu++17'],
    'xcode_settings': {
      'CLANG_CXX_LANGUAGE_STANDARD': 'c++17',
      'CLANG_CXX_LIBRARY': 'libc++',
      'GCC_ENABLE_CPP_EXCEPTIONS': 'YES',
      'GCC_SYMBOLS_PRIVATE_EXTERN': 'YES',
      'GCC_OPTIMIZATION_LEVEL': '3',
      'MACOSX_DEPLOYMENT_TARGET': '10.15',
      'OTHER_CPLUSPLUSFLAGS': ['-ffp-contract=off', '-fno-math-errno'],
    },
    'msvs_settings': {
      'VCCLCompilerTool': {
        'ExceptionHandling': 1,
        'Optimization': 2,
        'AdditionalOptions': ['/std:c++17', '/fp:precise'],
      },
    },
    'conditions': [
      ['OS=="win"', {'defines': ['_HAS_EXCEPTIONS=1', 'NOMINMAX']}],
    ],
  },
  'targets': [
    {
      'target_name': 'nodegrad',
      # Every .cc of these folders (native/gyp-sources.cjs): adding a file to a folder adds it to the build.
      'sources': ['<!@(node native/gyp-sources.cjs native/addon native/dispatch native/runtime native/kernels/ref)'],
      'include_dirs': ["<!(node -p \"require('node-addon-api').include_dir\")"],
      'conditions': [
        # x86-64: link the AVX2 and AVX-512 kernel libraries and tell dispatch they exist.
        ['target_arch=="x64"', {
          'dependencies': ['nodegrad_avx2', 'nodegrad_avx512'],
          'defines': ['NG_HAVE_AVX2_KERNELS', 'NG_HAVE_AVX512_KERNELS'],
        }],
        # arm64: NEON is baseline, but its kernels still live in their own library to mirror x86.
        ['target_arch=="arm64"', {
          'dependencies': ['nodegrad_neon'],
          'defines': ['NG_HAVE_NEON_KERNELS'],
        }],
      ],
    },
  ],
  'conditions': [
    ['target_arch=="x64"', {
      'targets': [
        {
          'target_name': 'nodegrad_avx2',
          'type': 'static_library',
          'sources': ['<!@(node native/gyp-sources.cjs native/kernels/avx2)'],
          'cflags': ['-mavx2', '-mfma'],
          'xcode_settings': {'OTHER_CPLUSPLUSFLAGS': ['-mavx2', '-mfma']},
          'msvs_settings': {'VCCLCompilerTool': {'AdditionalOptions': ['/arch:AVX2']}},
        },
        {
          'target_name': 'nodegrad_avx512',
          'type': 'static_library',
          'sources': ['<!@(node native/gyp-sources.cjs native/kernels/avx512)'],
          'cflags': ['-mavx512f', '-mavx512dq', '-mavx512bw', '-mavx512vl', '-mavx2', '-mfma'],
          'xcode_settings': {
            'OTHER_CPLUSPLUSFLAGS': ['-mavx512f', '-mavx512dq', '-mavx512bw', '-mavx512vl', '-mavx2', '-mfma'],
          },
          'msvs_settings': {'VCCLCompilerTool': {'AdditionalOptions': ['/arch:AVX512']}},
        },
      ],
    }],
    ['target_arch=="arm64"', {
      'targets': [
        {
          'target_name': 'nodegrad_neon',
          'type': 'static_library',
          'sources': ['<!@(node native/gyp-sources.cjs native/kernels/neon)'],
        },
      ],
    }],
  ],
}
