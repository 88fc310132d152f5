using BRun.Diagnostics.Core.Validation;

namespace BRun.Diagnostics.Core.Detection.Strategies;

/// <summary>
/// Ends with a character that always promises more: a comma, a colon, or an opening bracket. One class,
/// configured per character, because the check is the same and only the name and the reason differ.
/// </summary>
public sealed class TrailingCharacterStrategy : ITruncationStrategy
{
    private readonly char _character;
    private readonly string _description;
    private readonly Confidence _confidence;

    public TrailingCharacterStrategy(char character, string pattern, string description, Confidence confidence)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(pattern);
        ArgumentException.ThrowIfNullOrWhiteSpace(description);
        _character = character;
        Pattern = pattern;
        _description = description;
        _confidence = confidence;
    }

    public static TrailingCharacterStrategy Colon() =>
        new(':', "trailing_colon", "Ends with a colon: a key or a label with nothing after it", Confidence.High);

    public static TrailingCharacterStrategy Comma() =>
        new(',', "trailing_comma", "Ends with a comma: a list, object or sentence with its next item missing", Confidence.Medium);

    public static TrailingCharacterStrategy OpenParen() =>
        new('(', "open_paren", "Ends with an opening parenthesis that was never closed", Confidence.Medium);

    public static TrailingCharacterStrategy OpenBracket() =>
        new('[', "open_bracket", "Ends with an opening bracket: an array with nothing in it and no closing bracket", Confidence.Medium);

    public static TrailingCharacterStrategy OpenBrace() =>
        new('{', "open_brace", "Ends with an opening brace: an object with nothing in it and no closing brace", Confidence.Medium);

    public string Pattern { get; }

    public TruncationFinding? Inspect(in TruncationInput input)
    {
        var text = input.Trimmed;
        if (text.IsEmpty || text[^1] != _character)
        {
            return null;
        }

        return new TruncationFinding(Pattern, TextEndings.Describe(_description, input), _confidence);
    }
}
