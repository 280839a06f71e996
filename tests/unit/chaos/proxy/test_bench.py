from chaos.proxy.bench import measure_overhead


async def test_measure_overhead_reports_a_small_positive_cost():
    result = await measure_overhead(samples=300, warmup=30, payload_bytes=64)
    assert result.samples == 300
    assert result.proxied_p50_us > 0 and result.direct_p50_us > 0
    # Loose bound: a busy CI core can be slow, but not milliseconds per hop.
    assert result.proxy_overhead_p50_us < 2000
