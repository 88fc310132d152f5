namespace BRun.Diagnostics.Core.Pricing;

/// <summary>
/// One model's list prices in US dollars per million tokens. Cache writes are billed at the 5-minute rate,
/// the only cache lifetime this product asks for.
/// </summary>
public sealed record ModelPrice(
    decimal InputPerMTok,
    decimal OutputPerMTok,
    decimal CacheWritePerMTok,
    decimal CacheReadPerMTok);

/// <summary>What one call cost, split so a report can say where the money went. USD.</summary>
public sealed record CallCost(decimal Input, decimal Output, decimal CacheWrite, decimal CacheRead, bool BatchDiscount)
{
    public static readonly CallCost Zero = new(0, 0, 0, 0, false);

    public decimal Total => Input + Output + CacheWrite + CacheRead;
}
