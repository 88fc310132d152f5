using BRun.Diagnostics.Core.Detection;
using BRun.Diagnostics.Core.Validation;

namespace BRun.Diagnostics.Core.Tests.Detection.Strategies;

/// <summary>A strategy that always matches, to observe the detector's ordering.</summary>
internal sealed class NoPunctuationStrategyStub(string pattern) : ITruncationStrategy
{
    public string Pattern => pattern;

    public TruncationFinding? Inspect(in TruncationInput input) => new(Pattern, "always", Confidence.Low);
}
