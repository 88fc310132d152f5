using BRun.Diagnostics.Core.Design;

namespace BRun.Diagnostics.Core.Tests.Design;

public sealed class TemplatePlaceholdersTests
{
    [Fact]
    public void Known_placeholders_are_listed_once_in_order_of_first_use()
    {
        var used = TemplatePlaceholders.Check("{{persona}} and {{ training_topic }} and {{persona}} {{variation}}");

        Assert.Equal(["persona", "training_topic", "variation"], used);
    }

    [Fact]
    public void An_unknown_placeholder_is_refused_and_named()
    {
        var error = Assert.Throws<TemplatePlaceholderException>(() => TemplatePlaceholders.Check("Persona: {{persona}}\nTone: {{tone}}"));

        Assert.Equal("tone", error.Placeholder);
    }

    [Fact]
    public void The_error_says_on_which_line()
    {
        var error = Assert.Throws<TemplatePlaceholderException>(() => TemplatePlaceholders.Check("a\nb\n{{persna}}"));

        Assert.Equal(3, error.Line);
    }

    [Fact]
    public void An_unclosed_placeholder_is_refused()
    {
        var error = Assert.Throws<TemplatePlaceholderException>(() => TemplatePlaceholders.Check("Persona: {{persona"));

        Assert.Null(error.Placeholder);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   \n ")]
    public void An_empty_body_is_refused(string body) =>
        Assert.Throws<TemplatePlaceholderException>(() => TemplatePlaceholders.Check(body));

    [Fact]
    public void The_seeded_default_template_passes()
    {
        var body = File.ReadAllText(Path.Combine(RepositoryRoot(), "migrations", "0011_seed_scaffolding.sql"));
        var start = body.IndexOf("$template$", StringComparison.Ordinal) + "$template$".Length;
        var end = body.IndexOf("$template$", start, StringComparison.Ordinal);

        var used = TemplatePlaceholders.Check(body[start..end]);

        Assert.Contains("variation", used);
    }

    private static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !Directory.Exists(Path.Combine(directory.FullName, "migrations")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("migrations/ not found above the test output");
    }
}
