using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using BRun.Diagnostics.Infrastructure.Design;
using Microsoft.Extensions.DependencyInjection;

namespace BRun.Diagnostics.Cli.Commands;

/// <summary><c>brun template create|update|list|show|render|archive|share</c>.</summary>
internal static class TemplateCommand
{
    public static Command Create()
    {
        var command = new Command("template", "Manage prompt templates: every saved change is a new immutable version.");
        command.Subcommands.Add(Save("create", "Create a template (version 1) from a file."));
        command.Subcommands.Add(Save("update", "Save a file as the template's next version."));
        command.Subcommands.Add(List());
        command.Subcommands.Add(Show());
        command.Subcommands.Add(Render());
        command.Subcommands.Add(DesignCli.FlagCommand("archive", "Archive a template (no new runs from it; old runs keep it).", "NAME", "Template name.", "--restore", "Un-archive instead.",
            (store, identity, name, off, ct) => store.SetTemplateArchivedAsync(identity, name, !off, ct)));
        command.Subcommands.Add(DesignCli.FlagCommand("share", "Share a template with everyone (admins only).", "NAME", "Template name.", "--off", "Make it private to its owner again.",
            (store, identity, name, off, ct) => store.SetTemplateSharedAsync(identity, name, !off, ct)));
        return command;
    }

    private static Command Save(string verb, string description)
    {
        var name = new Option<string>("--name") { Description = "Template name.", Required = true };
        var file = new Option<string>("--file") { Description = "File holding the template body ({{placeholders}} are checked).", Required = true };
        var shared = new Option<bool>("--shared") { Description = "Share with everyone (admins only)." };
        var user = DesignCli.UserOption();
        var command = new Command(verb, description) { name, file, user };
        if (verb == "create")
        {
            command.Options.Add(shared);
        }

        command.SetAction(async (parse, ct) =>
        {
            var body = await DesignCli.ReadBodyAsync(parse.GetValue(file)!, ct).ConfigureAwait(false);

            return await DesignCli.RunAsync(parse, user, async (host, identity, token) =>
            {
                var store = host.Services.GetRequiredService<DesignStore>();
                var saved = verb == "create"
                    ? await store.CreateTemplateAsync(identity, parse.GetValue(name)!, body, parse.GetValue(shared), token).ConfigureAwait(false)
                    : await store.UpdateTemplateAsync(identity, parse.GetValue(name)!, body, token).ConfigureAwait(false);
                await parse.InvocationConfiguration.Output.WriteLineAsync(
                    string.Create(CultureInfo.InvariantCulture, $"{saved.Name} version {saved.CurrentVersion}")).ConfigureAwait(false);
                return DesignCli.ExitOk;
            }, ct).ConfigureAwait(false);
        });
        return command;
    }

    private static Command List()
    {
        var archived = new Option<bool>("--archived") { Description = "Include archived templates." };
        var format = DesignCli.FormatOption();
        var user = DesignCli.UserOption();
        var command = new Command("list", "List the templates you can use.") { archived, format, user };
        command.SetAction((parse, ct) => DesignCli.RunAsync(parse, user, async (host, identity, token) =>
        {
            var templates = await host.Services.GetRequiredService<DesignStore>().ListTemplatesAsync(identity, parse.GetValue(archived), token).ConfigureAwait(false);
            var output = parse.InvocationConfiguration.Output;
            foreach (var t in templates)
            {
                await output.WriteLineAsync(DesignCli.IsJson(parse, format)
                    ? JsonSerializer.Serialize(new
                    {
                        name = t.Name, version = t.CurrentVersion, visibility = t.Visibility.ToString().ToLowerInvariant(),
                        owner = t.OwnerEmail, archived = t.IsArchived, updated_at = t.UpdatedAt,
                    }, DesignCli.Json)
                    : string.Create(CultureInfo.InvariantCulture,
                        $"{t.Name}\tv{t.CurrentVersion}\t{DesignCli.Visibility(t.Visibility, t.OwnerEmail)}{(t.IsArchived ? "\tarchived" : string.Empty)}")).ConfigureAwait(false);
            }

            return DesignCli.ExitOk;
        }, ct));
        return command;
    }

    private static Command Show()
    {
        var name = new Argument<string>("NAME") { Description = "Template name." };
        var version = new Option<int?>("--version") { Description = "A past version (default: the current one)." };
        var format = DesignCli.FormatOption();
        var user = DesignCli.UserOption();
        var command = new Command("show", "Print a template's body (text: the body alone, ready to edit and update).") { name, version, format, user };
        command.SetAction((parse, ct) => DesignCli.RunAsync(parse, user, async (host, identity, token) =>
        {
            var store = host.Services.GetRequiredService<DesignStore>();
            var template = await store.FindTemplateAsync(identity, parse.GetValue(name)!, includeArchived: true, token).ConfigureAwait(false)
                ?? throw new DesignNotFoundException($"No template '{parse.GetValue(name)}'.");
            var number = parse.GetValue(version) ?? template.CurrentVersion;
            var shown = await store.GetVersionAsync(identity, template.Id, number, token).ConfigureAwait(false)
                ?? throw new DesignNotFoundException($"Template '{template.Name}' has no version {number} (current: {template.CurrentVersion}).");
            var output = parse.InvocationConfiguration.Output;
            if (DesignCli.IsJson(parse, format))
            {
                await output.WriteLineAsync(JsonSerializer.Serialize(new
                {
                    name = template.Name, version = shown.Version, current_version = template.CurrentVersion, created_at = shown.CreatedAt,
                    visibility = template.Visibility.ToString().ToLowerInvariant(), owner = template.OwnerEmail, archived = template.IsArchived,
                    body = shown.Body,
                }, DesignCli.Json)).ConfigureAwait(false);
            }
            else
            {
                await output.WriteAsync(shown.Body).ConfigureAwait(false);
                if (!shown.Body.EndsWith('\n'))
                {
                    await output.WriteLineAsync().ConfigureAwait(false);
                }
            }

            return DesignCli.ExitOk;
        }, ct));
        return command;
    }

    private static Command Render()
    {
        var name = new Argument<string>("NAME") { Description = "Template name." };
        var persona = new Option<string?>("--persona") { Description = "Persona key (default: the first usable one)." };
        var arc = new Option<string?>("--arc") { Description = "Emotional arc key (default: the first usable one)." };
        var topic = new Option<string?>("--topic") { Description = "Training topic key (default: the first usable one)." };
        var model = new Option<string>("--model") { Description = "Claude model.", DefaultValueFactory = _ => "claude-sonnet-4-5" };
        var maxTokens = new Option<int>("--max-tokens") { Description = "max_tokens per request.", DefaultValueFactory = _ => 4096 };
        var temperature = new Option<decimal?>("--temperature") { Description = "Sampling temperature, 0 to 1.", DefaultValueFactory = _ => 0.7m };
        var count = new Option<int>("--count") { Description = "Conversations the cost estimate is for.", DefaultValueFactory = _ => 1 };
        var format = DesignCli.FormatOption();
        var user = DesignCli.UserOption();
        var command = new Command("render", "Show the prompt exactly as a run sends it, its input tokens (count_tokens) and the run's cost estimate.")
        {
            name, persona, arc, topic, model, maxTokens, temperature, count, format, user,
        };
        command.SetAction(async (parse, ct) =>
        {
            if (parse.GetValue(maxTokens) < 1 || parse.GetValue(count) < 1 || parse.GetValue(temperature) is < 0 or > 1)
            {
                throw CliException.Usage("--max-tokens and --count must be positive and --temperature between 0 and 1.");
            }

            return await DesignCli.RunAsync(parse, user, async (host, identity, token) =>
            {
                await host.StartAsync(token).ConfigureAwait(false);
                try
                {
                    var preview = await host.Services.GetRequiredService<PromptPreviewService>().PreviewAsync(identity, new PromptPreviewRequest(
                        parse.GetValue(name)!, parse.GetValue(persona), parse.GetValue(arc), parse.GetValue(topic),
                        parse.GetValue(model)!, parse.GetValue(maxTokens), parse.GetValue(temperature), parse.GetValue(count)), token).ConfigureAwait(false);
                    await WritePreviewAsync(parse.InvocationConfiguration.Output, preview, DesignCli.IsJson(parse, format), parse.GetValue(model)!, parse.GetValue(maxTokens)).ConfigureAwait(false);
                    if (preview.Tokens.Error is { } countError)
                    {
                        await parse.InvocationConfiguration.Error.WriteLineAsync(countError).ConfigureAwait(false);
                    }

                    return DesignCli.ExitOk;
                }
                finally
                {
                    await host.StopAsync(CancellationToken.None).ConfigureAwait(false);
                }
            }, ct, CliHost.BuildForPreview).ConfigureAwait(false);
        });
        return command;
    }

    private static async Task WritePreviewAsync(TextWriter output, PromptPreview preview, bool json, string model, int maxTokens)
    {
        if (json)
        {
            await output.WriteLineAsync(JsonSerializer.Serialize(new
            {
                template = preview.Template.TemplateName, version = preview.Template.Version,
                persona = preview.Scaffolding.Persona.Key, emotional_arc = preview.Scaffolding.EmotionalArc.Key, training_topic = preview.Scaffolding.TrainingTopic.Key,
                prompt = preview.Prompt, request = JsonDocument.Parse(preview.RequestBody).RootElement,
                input_tokens = preview.Tokens.InputTokens, count_error = preview.Tokens.Error,
                conversations = preview.Conversations, cost_per_conversation_usd = preview.CostPerConversation, estimated_cost_usd = preview.EstimatedRunCost,
            }, DesignCli.Json)).ConfigureAwait(false);
            return;
        }

        await output.WriteLineAsync(preview.Prompt).ConfigureAwait(false);
        await output.WriteLineAsync("---").ConfigureAwait(false);
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"template: {preview.Template.TemplateName} v{preview.Template.Version}; persona {preview.Scaffolding.Persona.Key}, arc {preview.Scaffolding.EmotionalArc.Key}, topic {preview.Scaffolding.TrainingTopic.Key}")).ConfigureAwait(false);
        await output.WriteLineAsync(preview.Tokens.InputTokens is { } tokens
            ? string.Create(CultureInfo.InvariantCulture, $"input_tokens: {tokens} (count_tokens)")
            : "input_tokens: unavailable").ConfigureAwait(false);
        await output.WriteLineAsync(preview.EstimatedRunCost is { } cost
            ? string.Create(CultureInfo.InvariantCulture,
                $"estimated cost: at most ${cost:0.####} for {preview.Conversations} conversation(s) of {model} at max_tokens {maxTokens}")
            : $"estimated cost: unavailable ({(preview.Tokens.InputTokens is null ? "no token count" : $"{model} is not in the price table")})").ConfigureAwait(false);
    }
}
