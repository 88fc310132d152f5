using System.ComponentModel.DataAnnotations;
using BRun.Diagnostics.Core.Pricing;

namespace BRun.Diagnostics.Infrastructure.Pricing;

/// <summary>
/// Price overrides (configuration section <c>Pricing</c>): <c>Pricing:Models:&lt;model id or prefix&gt;:InputPerMTok</c>
/// and so on, in USD per million tokens. A listed model replaces the built-in price of the same id (or adds one);
/// every other model keeps <see cref="PriceTable.Defaults"/>. Default: no overrides.
/// </summary>
public sealed class PricingOptions
{
    public const string SectionName = "Pricing";

    /// <summary>Prices by model id or id prefix (longest prefix wins). Default: empty.</summary>
    public Dictionary<string, ModelPriceOptions> Models { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The built-in table with the overrides applied.</summary>
    public PriceTable ToPriceTable()
    {
        var prices = new Dictionary<string, ModelPrice>(PriceTable.Defaults, StringComparer.Ordinal);
        foreach (var (model, price) in Models)
        {
            prices[model] = new ModelPrice(price.InputPerMTok, price.OutputPerMTok, price.CacheWritePerMTok, price.CacheReadPerMTok);
        }

        return new PriceTable(prices);
    }
}

/// <summary>One model's prices in USD per million tokens. All four are required for an override.</summary>
public sealed class ModelPriceOptions
{
    [Range(typeof(decimal), "0", "10000", ParseLimitsInInvariantCulture = true, ConvertValueInInvariantCulture = true)]
    public decimal InputPerMTok { get; set; }

    [Range(typeof(decimal), "0", "10000", ParseLimitsInInvariantCulture = true, ConvertValueInInvariantCulture = true)]
    public decimal OutputPerMTok { get; set; }

    /// <summary>The 5-minute cache write price (usually 1.25 × input).</summary>
    [Range(typeof(decimal), "0", "10000", ParseLimitsInInvariantCulture = true, ConvertValueInInvariantCulture = true)]
    public decimal CacheWritePerMTok { get; set; }

    /// <summary>The cache read price (usually 0.1 × input).</summary>
    [Range(typeof(decimal), "0", "10000", ParseLimitsInInvariantCulture = true, ConvertValueInInvariantCulture = true)]
    public decimal CacheReadPerMTok { get; set; }
}
