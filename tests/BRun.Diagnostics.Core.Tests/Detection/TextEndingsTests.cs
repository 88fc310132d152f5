using BRun.Diagnostics.Core.Detection;

namespace BRun.Diagnostics.Core.Tests.Detection;

public class TextEndingsTests
{
    [Theory]
    [InlineData("abc", 0)]
    [InlineData("abc\\", 1)]
    [InlineData("a\\\\\\", 3)]
    public void BackslashRunBefore_CountsTheTrailingRun(string text, int expected)
    {
        Assert.Equal(expected, TextEndings.BackslashRunBefore(text, text.Length));
    }

    [Fact]
    public void Tail_EscapesControlCharactersQuotesAndBackslashes()
    {
        Assert.Equal("\"a\\\"b\\\\c\\n\\u0001\"", TextEndings.Tail("a\"b\\c\n\u0001"));
    }

    [Fact]
    public void Tail_KeepsTheLastCharactersAndMarksTheCut()
    {
        var tail = TextEndings.Tail(new string('x', 100) + "END", 5);

        Assert.Equal("\"…xxEND\"", tail);
    }

    [Fact]
    public void Tail_DoesNotSplitASurrogatePair()
    {
        var tail = TextEndings.Tail("ab🙂c", 2);

        Assert.Equal("\"…c\"", tail);
    }
}
