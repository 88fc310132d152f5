using BRun.Diagnostics.Core.Conversations;
using BRun.Diagnostics.Core.Detection.Strategies;

namespace BRun.Diagnostics.Core.Detection;

/// <summary>A cut-looking assistant turn: which one, and why.</summary>
public sealed record TurnTruncation(int TurnIndex, TruncationFinding Finding, int FlaggedTurnCount);

/// <summary>
/// Runs truncation strategies in order and reports the first that matches. The order matters: specific,
/// high-confidence endings (escapes, a trailing colon) come before the general ones (mid-word, no punctuation).
/// Immutable and thread-safe.
/// </summary>
public sealed class TruncationDetector
{
    private readonly ITruncationStrategy[] _strategies;

    public TruncationDetector(IEnumerable<ITruncationStrategy> strategies)
    {
        ArgumentNullException.ThrowIfNull(strategies);
        _strategies = [.. strategies];
    }

    public IReadOnlyList<ITruncationStrategy> Strategies => _strategies;

    /// <summary>The strategies of the plan (plus <c>partial_unicode_escape</c>) in their checking order.</summary>
    public static TruncationDetector CreateDefault() => new(
    [
        new EscapedQuoteStrategy(),
        new LoneBackslashStrategy(),
        new TrailingBackslashStrategy(),
        new PartialUnicodeEscapeStrategy(),
        TrailingCharacterStrategy.Colon(),
        TrailingCharacterStrategy.Comma(),
        TrailingCharacterStrategy.OpenParen(),
        TrailingCharacterStrategy.OpenBracket(),
        TrailingCharacterStrategy.OpenBrace(),
        new MidWordStrategy(),
        new LongUnclosedStringStrategy(),
        new NoPunctuationStrategy(),
    ]);

    /// <summary>Judges prose (e.g. one turn's content). Null when the ending looks complete or the text is blank.</summary>
    public TruncationFinding? Detect(string text) => Detect(new TruncationInput(text));

    public TruncationFinding? Detect(in TruncationInput input)
    {
        if (input.IsBlank)
        {
            return null;
        }

        foreach (var strategy in _strategies)
        {
            if (strategy.Inspect(input) is { } finding)
            {
                return finding;
            }
        }

        return null;
    }

    /// <summary>
    /// Checks every assistant turn (user turns are the prompt's side and are not judged). When several are
    /// flagged, the most confident wins, and among equals the later turn, since a cut lands at the end.
    /// </summary>
    public TurnTruncation? DetectInTurns(IReadOnlyList<ConversationTurn> turns)
    {
        ArgumentNullException.ThrowIfNull(turns);
        TurnTruncation? best = null;
        var flagged = 0;
        for (var index = 0; index < turns.Count; index++)
        {
            if (turns[index].Role != ConversationRole.Assistant || Detect(turns[index].Content) is not { } finding)
            {
                continue;
            }

            flagged++;
            if (best is null || finding.Confidence >= best.Finding.Confidence)
            {
                best = new TurnTruncation(index, finding, 0);
            }
        }

        return best is null ? null : best with { FlaggedTurnCount = flagged };
    }
}
