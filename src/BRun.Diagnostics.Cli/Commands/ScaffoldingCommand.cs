using System.CommandLine;
using System.Text.Json;
using BRun.Diagnostics.Infrastructure.Design;
using Microsoft.Extensions.DependencyInjection;

namespace BRun.Diagnostics.Cli.Commands;

/// <summary><c>brun persona|arc|topic add|update|list|archive|share</c>: one shape for the three kinds of scaffolding.</summary>
internal static class ScaffoldingCommand
{
    public static Command Create(string commandName, ScaffoldingKind kind)
    {
        var label = kind.Label();
        var command = new Command(commandName, $"Manage {label}s (key, name, description).");
        command.Subcommands.Add(Add(kind));
        command.Subcommands.Add(Update(kind));
        command.Subcommands.Add(List(kind));
        command.Subcommands.Add(DesignCli.FlagCommand("archive", $"Archive a {label} (no new runs use it; old runs keep its text).", "KEY", $"The {label}'s key.", "--restore", "Un-archive instead.",
            (store, identity, key, off, ct) => store.SetScaffoldingArchivedAsync(identity, kind, key, !off, ct)));
        command.Subcommands.Add(DesignCli.FlagCommand("share", $"Share a {label} with everyone (admins only).", "KEY", $"The {label}'s key.", "--off", "Make it private to its owner again.",
            (store, identity, key, off, ct) => store.SetScaffoldingSharedAsync(identity, kind, key, !off, ct)));
        return command;
    }

    private static Command Add(ScaffoldingKind kind)
    {
        var key = new Option<string>("--key") { Description = "Key used in runs and matrices (letters, digits, _ - .).", Required = true };
        var name = new Option<string>("--name") { Description = "Display name ({{..._name}}).", Required = true };
        var description = new Option<string>("--description") { Description = "The text the template receives ({{..._description}}).", Required = true };
        var shared = new Option<bool>("--shared") { Description = "Share with everyone (admins only)." };
        var user = DesignCli.UserOption();
        var command = new Command("add", $"Add a {kind.Label()}.") { key, name, description, shared, user };
        command.SetAction((parse, ct) => DesignCli.RunAsync(parse, user, async (host, identity, token) =>
        {
            var added = await host.Services.GetRequiredService<DesignStore>().AddScaffoldingAsync(
                identity, kind, parse.GetValue(key)!, parse.GetValue(name)!, parse.GetValue(description)!, parse.GetValue(shared), token).ConfigureAwait(false);
            await parse.InvocationConfiguration.Output.WriteLineAsync($"added {kind.Label()} {added.Key}").ConfigureAwait(false);
            return DesignCli.ExitOk;
        }, ct));
        return command;
    }

    private static Command Update(ScaffoldingKind kind)
    {
        var key = new Option<string>("--key") { Description = "Key of the item to change.", Required = true };
        var name = new Option<string?>("--name") { Description = "New display name." };
        var description = new Option<string?>("--description") { Description = "New description." };
        var user = DesignCli.UserOption();
        var command = new Command("update", $"Change a {kind.Label()}'s name or description (runs already created keep the old text).") { key, name, description, user };
        command.SetAction(async (parse, ct) =>
        {
            if (parse.GetValue(name) is null && parse.GetValue(description) is null)
            {
                throw CliException.Usage("give --name, --description or both.");
            }

            return await DesignCli.RunAsync(parse, user, async (host, identity, token) =>
            {
                var updated = await host.Services.GetRequiredService<DesignStore>().UpdateScaffoldingAsync(
                    identity, kind, parse.GetValue(key)!, parse.GetValue(name), parse.GetValue(description), token).ConfigureAwait(false);
                await parse.InvocationConfiguration.Output.WriteLineAsync($"updated {kind.Label()} {updated.Key}").ConfigureAwait(false);
                return DesignCli.ExitOk;
            }, ct).ConfigureAwait(false);
        });
        return command;
    }

    private static Command List(ScaffoldingKind kind)
    {
        var archived = new Option<bool>("--archived") { Description = "Include archived items." };
        var format = DesignCli.FormatOption();
        var user = DesignCli.UserOption();
        var command = new Command("list", $"List the {kind.Label()}s you can use.") { archived, format, user };
        command.SetAction((parse, ct) => DesignCli.RunAsync(parse, user, async (host, identity, token) =>
        {
            var items = await host.Services.GetRequiredService<DesignStore>().ListScaffoldingAsync(identity, kind, parse.GetValue(archived), token).ConfigureAwait(false);
            var output = parse.InvocationConfiguration.Output;
            foreach (var item in items)
            {
                await output.WriteLineAsync(DesignCli.IsJson(parse, format)
                    ? JsonSerializer.Serialize(new
                    {
                        key = item.Key, name = item.Name, description = item.Description, visibility = item.Visibility.ToString().ToLowerInvariant(),
                        owner = item.OwnerEmail, archived = item.IsArchived,
                    }, DesignCli.Json)
                    : $"{item.Key}\t{item.Name}\t{DesignCli.Visibility(item.Visibility, item.OwnerEmail)}{(item.IsArchived ? "\tarchived" : string.Empty)}").ConfigureAwait(false);
            }

            return DesignCli.ExitOk;
        }, ct));
        return command;
    }
}
