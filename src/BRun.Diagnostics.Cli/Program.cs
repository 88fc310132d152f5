using BRun.Diagnostics.Cli;

return await BrunCommandLine.InvokeAsync(args).ConfigureAwait(false);
