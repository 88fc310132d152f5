using BRun.Diagnostics.Core.Detection;
using BRun.Diagnostics.Core.Detection.Strategies;
using BRun.Diagnostics.Core.Validation;

namespace BRun.Diagnostics.Core.Tests.Detection.Strategies;

public class TrailingCharacterStrategyTests
{
    public static TheoryData<string, string, string, Confidence> Endings => new()
    {
        { "colon", "Property:", "trailing_colon", Confidence.High },
        { "colon", "{\"turns\":  ", "trailing_colon", Confidence.High },
        { "comma", "List item,", "trailing_comma", Confidence.Medium },
        { "paren", "as you said (", "open_paren", Confidence.Medium },
        { "bracket", "\"turns\": [", "open_bracket", Confidence.Medium },
        { "brace", "[{", "open_brace", Confidence.Medium },
    };

    [Theory]
    [MemberData(nameof(Endings))]
    public void Inspect_FlagsItsOwnCharacter(string which, string text, string pattern, Confidence confidence)
    {
        var finding = Create(which).Inspect(new TruncationInput(text));

        Assert.Equal(pattern, finding?.Pattern);
        Assert.Equal(confidence, finding?.Confidence);
    }

    [Theory]
    [InlineData("colon", "a:b")]
    [InlineData("comma", "one, two.")]
    [InlineData("paren", "(closed)")]
    [InlineData("bracket", "[]")]
    [InlineData("brace", "{}")]
    public void Inspect_IgnoresTextNotEndingWithIt(string which, string text)
    {
        Assert.Null(Create(which).Inspect(new TruncationInput(text)));
    }

    private static TrailingCharacterStrategy Create(string which) => which switch
    {
        "colon" => TrailingCharacterStrategy.Colon(),
        "comma" => TrailingCharacterStrategy.Comma(),
        "paren" => TrailingCharacterStrategy.OpenParen(),
        "bracket" => TrailingCharacterStrategy.OpenBracket(),
        _ => TrailingCharacterStrategy.OpenBrace(),
    };
}
