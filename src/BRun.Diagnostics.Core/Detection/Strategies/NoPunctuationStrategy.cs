using BRun.Diagnostics.Core.Validation;

namespace BRun.Diagnostics.Core.Detection.Strategies;

/// <summary>
/// Long prose that does not end the way finished prose ends (a digit, a dash, a percent sign...). Low
/// confidence: it runs last, after every specific pattern has passed. Short text is not judged (the plan's
/// threshold), and JSON input never reaches it: there the scanner's account is better than a guess.
/// </summary>
public sealed class NoPunctuationStrategy : ITruncationStrategy
{
    /// <summary>Texts up to this many characters (trimmed) are not judged.</summary>
    public const int MinimumLength = 100;

    public string Pattern => "no_punctuation";

    public TruncationFinding? Inspect(in TruncationInput input)
    {
        if (input.Json is not null || input.TrimmedLength <= MinimumLength || TextEndings.IsProperEnding(input.Trimmed))
        {
            return null;
        }

        return new TruncationFinding(
            Pattern,
            TextEndings.Describe($"Long text ({input.TrimmedLength} chars) that does not end with closing punctuation, a closing quote or an emoji", input),
            Confidence.Low);
    }
}
