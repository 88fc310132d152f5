using BRun.Diagnostics.Core.Validation;

namespace BRun.Diagnostics.Core.Detection;

/// <summary>
/// One strategy's verdict that a text looks cut.
/// </summary>
/// <param name="Pattern">The snake_case pattern name stored in <c>truncation_pattern</c> (e.g. <c>mid_word</c>).</param>
/// <param name="Details">Human-readable: what the ending looks like, with the last characters escaped.</param>
/// <param name="Confidence">How sure the strategy is that this ending means a cut.</param>
public sealed record TruncationFinding(string Pattern, string Details, Confidence Confidence);
