using BRun.Diagnostics.Core.Messages;

namespace BRun.Diagnostics.Core.Pricing;

/// <summary>
/// Prices calls from their usage. Model ids are matched by the longest known prefix, so a dated id
/// (<c>claude-sonnet-4-5-20250929</c>) takes its family's price. An unknown model has no price: the caller
/// stores a null cost rather than a made-up one.
/// </summary>
public sealed class PriceTable
{
    /// <summary>The Message Batches API bills every token class at half price.</summary>
    public const decimal BatchDiscountFactor = 0.5m;

    private const decimal PerMillion = 1_000_000m;

    private readonly KeyValuePair<string, ModelPrice>[] _byLongestPrefix;

    public PriceTable(IReadOnlyDictionary<string, ModelPrice> prices)
    {
        ArgumentNullException.ThrowIfNull(prices);
        _byLongestPrefix = [.. prices.OrderByDescending(p => p.Key.Length).ThenBy(p => p.Key, StringComparer.Ordinal)];
    }

    /// <summary>
    /// List prices (USD per MTok) as published by Anthropic, checked 2026-12-02. Cache write is the 5-minute rate
    /// (1.25× input); Haiku 5.5 is the band for prompts up to 100,000 tokens.
    /// </summary>
    public static IReadOnlyDictionary<string, ModelPrice> Defaults { get; } = new Dictionary<string, ModelPrice>(StringComparer.Ordinal)
    {
        ["claude-opus-5-5"] = new(4m, 20m, 5m, 0.40m),
        ["claude-opus-5"] = new(5m, 25m, 6.25m, 0.50m),
        ["claude-sonnet-5-5"] = new(2m, 10m, 2.50m, 0.10m),
        ["claude-sonnet-5"] = new(2m, 10m, 2.50m, 0.20m),
        ["claude-haiku-5-5"] = new(0.10m, 0.50m, 0.125m, 0.01m),
        ["claude-opus-4-5"] = new(5m, 25m, 6.25m, 0.50m),
        ["claude-opus-4-1"] = new(15m, 75m, 18.75m, 1.50m),
        ["claude-opus-4"] = new(15m, 75m, 18.75m, 1.50m),
        ["claude-sonnet-4-5"] = new(3m, 15m, 3.75m, 0.30m),
        ["claude-sonnet-4"] = new(3m, 15m, 3.75m, 0.30m),
        ["claude-haiku-4-5"] = new(1m, 5m, 1.25m, 0.10m),
        ["claude-3-5-haiku"] = new(0.80m, 4m, 1m, 0.08m),
        ["claude-3-haiku"] = new(0.25m, 1.25m, 0.30m, 0.03m),
    };

    public static PriceTable CreateDefault() => new(Defaults);

    public ModelPrice? Find(string? model)
    {
        if (string.IsNullOrEmpty(model))
        {
            return null;
        }

        foreach (var (prefix, price) in _byLongestPrefix)
        {
            if (model.StartsWith(prefix, StringComparison.Ordinal))
            {
                return price;
            }
        }

        return null;
    }

    /// <summary>The cost of one call, or null when the model has no price. Missing usage counts as zero tokens.</summary>
    public CallCost? Cost(string? model, Usage usage, bool batch = false)
    {
        ArgumentNullException.ThrowIfNull(usage);
        var price = Find(model);
        if (price is null)
        {
            return null;
        }

        var factor = batch ? BatchDiscountFactor : 1m;
        return new CallCost(
            Input: Tokens(usage.InputTokens, price.InputPerMTok, factor),
            Output: Tokens(usage.OutputTokens, price.OutputPerMTok, factor),
            CacheWrite: Tokens(usage.CacheCreationInputTokens, price.CacheWritePerMTok, factor),
            CacheRead: Tokens(usage.CacheReadInputTokens, price.CacheReadPerMTok, factor),
            BatchDiscount: batch);
    }

    /// <summary>
    /// The most a call (or a sum of calls) can cost: its input at full price plus max_tokens of output. Used for estimates.
    /// </summary>
    public decimal? UpperBound(string? model, long inputTokens, long maxTokens, bool batch = false)
    {
        var price = Find(model);
        if (price is null)
        {
            return null;
        }

        var factor = batch ? BatchDiscountFactor : 1m;
        return Tokens(inputTokens, price.InputPerMTok, factor) + Tokens(maxTokens, price.OutputPerMTok, factor);
    }

    /// <remarks>Token counts are <c>long</c> so a sum over many calls (a bulk re-run's estimate) cannot overflow.</remarks>
    private static decimal Tokens(long? tokens, decimal perMillion, decimal factor) =>
        (tokens ?? 0) * perMillion * factor / PerMillion;
}
