using System.Text;
using BRun.Diagnostics.Core.Detection.Json;
using BRun.Diagnostics.Core.Validation;

namespace BRun.Diagnostics.Core.Detection.Strategies;

/// <summary>
/// Ends on a letter with no closing punctuation: cut in the middle of a word or a sentence.
/// </summary>
/// <remarks>
/// The plan's <c>[a-zA-Z]{3,}\s*$</c> misses its own example (<c>mid-w</c> ends with one letter) and every
/// non-Latin script, so any trailing letter counts here. Assistant turns in this data set are full sentences,
/// so a turn that stops on a letter is cut even if the last word happens to be complete ("as a bonus");
/// rejecting such a turn costs a regeneration, while keeping a cut one poisons training data.
/// Endings that are not letters are left to other strategies: digits (<c>$20,000</c>) and symbols are not
/// evidence of a cut on their own, and emoji or closing quotes are proper endings.
/// A single word with no whitespace before it ("Sure", "Thanks") is a plausible complete reply, so prose
/// must contain whitespace in its tail to count. Inside a JSON string or literal the scanner already
/// proves the cut, so no such condition applies there.
/// </remarks>
public sealed class MidWordStrategy : ITruncationStrategy
{
    // How far back to look for whitespace; a "word" longer than this is not prose.
    private const int ProseLookBack = 200;
    private const int MaxWordShown = 30;

    public string Pattern => "mid_word";

    public TruncationFinding? Inspect(in TruncationInput input)
    {
        var text = input.Trimmed;
        if (text.IsEmpty)
        {
            return null;
        }

        Rune.DecodeLastFromUtf16(text, out var last, out _);
        if (!Rune.IsLetter(last))
        {
            return null;
        }

        if (input.Json is { } scan)
        {
            if (scan.CutPoint is not (JsonCutPoint.InString or JsonCutPoint.InKey or JsonCutPoint.InLiteral))
            {
                return null;
            }
        }
        else
        {
            var tail = text[Math.Max(0, text.Length - ProseLookBack)..];
            if (tail.IndexOfAny(" \t\n\r\u00a0") < 0)
            {
                return null;
            }
        }

        var wordStart = text.Length;
        while (wordStart > 0 && text.Length - wordStart < MaxWordShown && char.IsLetter(text[wordStart - 1]))
        {
            wordStart--;
        }

        var word = text[wordStart..].ToString();
        return new TruncationFinding(
            Pattern,
            TextEndings.Describe($"Ends mid-word or mid-sentence: the last word \"{word}\" has no punctuation after it", input),
            Confidence.Medium);
    }
}
