namespace Inference.Server.ModelTools;

/// <summary>A model tool cannot do what it was asked (unsupported model, bad option, missing file). The message
/// is meant for the person at the command line; the CLI prints it and exits with status 2.</summary>
public sealed class ModelToolException(string message) : Exception(message);
