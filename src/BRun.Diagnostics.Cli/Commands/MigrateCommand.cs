using System.CommandLine;
using BRun.Diagnostics.Infrastructure.Database.Migrations;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace BRun.Diagnostics.Cli.Commands;

/// <summary><c>brun migrate</c>: applies the migrations embedded in the binaries and prints what it applied.</summary>
internal static class MigrateCommand
{
    public static Command Create()
    {
        var connection = UserCommand.ConnectionOption();
        var command = new Command("migrate", "Apply pending database migrations (safe to run repeatedly and concurrently).")
        {
            connection,
        };

        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var output = parseResult.InvocationConfiguration.Output;
            var connectionString = UserCommand.RequireConnectionString(parseResult.GetValue(connection));

            await using var dataSource = NpgsqlDataSource.Create(connectionString);
            var migrator = new DatabaseMigrator(dataSource, NullLogger<DatabaseMigrator>.Instance);
            MigrationResult result;
            try
            {
                result = await migrator.MigrateAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (MigrationChecksumMismatchException ex)
            {
                throw CliException.Failed(ex.Message);
            }

            foreach (var script in result.Applied)
            {
                await output.WriteLineAsync($"applied {script}").ConfigureAwait(false);
            }

            await output.WriteLineAsync(result.Applied.Count == 0
                ? $"up to date: {result.PreviouslyApplied} migrations were already applied"
                : $"{result.Applied.Count} applied, {result.PreviouslyApplied} already applied").ConfigureAwait(false);
            return 0;
        });
        return command;
    }
}
