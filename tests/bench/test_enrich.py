from bench.enrich import cpu_description

CPUINFO = """processor\t: 0
vendor_id\t: GenuineIntel
cpu family\t: 6
model name\t: Intel(R) Xeon(R) Platinum 8480+
flags\t\t: fpu avx512f avx512_vnni avx512_bf16 amx_bf16 amx_tile amx_int8

processor\t: 1
model name\t: Intel(R) Xeon(R) Platinum 8480+
"""


def test_the_cpu_description_names_the_model_and_its_matrix_units():
    cpu = cpu_description(CPUINFO)
    assert cpu == {
        "model": "Intel(R) Xeon(R) Platinum 8480+",
        "family": "6",
        "flags": ["avx512_bf16", "avx512_vnni", "amx_bf16", "amx_int8"],
    }


def test_a_cpu_without_bf16_or_matrix_units_lists_no_such_flags():
    plain = CPUINFO.replace("avx512_vnni avx512_bf16 amx_bf16 amx_tile amx_int8", "sse2")
    assert cpu_description(plain)["flags"] == []
