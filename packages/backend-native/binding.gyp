{
  "variables": {
    "have_dnnl%": "<!(node scripts/detect.cjs dnnl)",
    "march%": "<!(node scripts/detect.cjs march)"
  },
  "targets": [
    {
      "target_name": "lth_native",
      "sources": [
        "native/addon.cc",
        "native/gemm.cc",
        "native/elementwise.cc",
        "native/reduce.cc",
        "native/optimizers.cc",
        "native/conv.cc",
        "native/pool.cc",
        "native/sparse.cc"
      ],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc": [
        "-std=c++17", "-O3", "-march=<(march)", "-fexceptions", "-ffp-contract=off", "-fno-math-errno",
        "<!@(node scripts/detect.cjs blas-cflags)"
      ],
      "libraries": ["<!@(node scripts/detect.cjs blas-libs)"],
      "conditions": [
        ["have_dnnl==1", {
          "defines": ["LTH_HAVE_DNNL"],
          "libraries": ["-ldnnl", "-fopenmp"],
          "cflags_cc": ["-fopenmp"]
        }]
      ]
    }
  ]
}
