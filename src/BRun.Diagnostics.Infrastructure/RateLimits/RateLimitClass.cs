using System.Text.RegularExpressions;

namespace BRun.Diagnostics.Infrastructure.RateLimits;

/// <summary>
/// Which rate limits a model's calls count against. The API limits an organisation per model class, not per model id:
/// Claude Opus 4.5, 4.6, 4.7 and 4.8 share one set of limits, and Sonnet 4.5 and 4.6 another (Anthropic's rate-limit
/// tables, "Opus 4.x" and "Sonnet 4.x", read 2026-10). Pacing them apart would let a run on one and a run on another
/// each spend the whole budget, and then both meet 429s. A dated id (<c>claude-sonnet-4-5-20250929</c>) is its model.
/// Every other model is its own class, as the tables list them.
/// </summary>
public static partial class RateLimitClass
{
    public const string Opus4x = "claude-opus-4.x";
    public const string Sonnet4x = "claude-sonnet-4.x";

    /// <summary>The class whose limits <paramref name="model"/> shares; the model id itself (without a date) when it shares none.</summary>
    public static string Of(string model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var id = DateSuffix().Replace(model.Trim().ToLowerInvariant(), string.Empty);
        return id switch
        {
            "claude-opus-4-5" or "claude-opus-4-6" or "claude-opus-4-7" or "claude-opus-4-8" => Opus4x,
            "claude-sonnet-4-5" or "claude-sonnet-4-6" => Sonnet4x,
            _ => id,
        };
    }

    [GeneratedRegex(@"-\d{8}$", RegexOptions.CultureInvariant)]
    private static partial Regex DateSuffix();
}
