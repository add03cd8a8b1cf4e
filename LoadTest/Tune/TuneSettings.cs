namespace LoadTest.Tune;

/// <summary>
/// Everything that decides what a tune run measures and how: the source model and its name, the search space,
/// the goal, the measurement, the calibration data, the limits of the search, and the server (<c>started</c>, or
/// the address of the one pointed at). Stored in the state file; a run resumes only with equal settings.
/// </summary>
public sealed record TuneSettings(string ModelPath, string ModelName, TuneSpace Space, TuneGoal Goal, MeasureSettings Measure, string Calibration,
    int MaxConfigs, int CombineTop, string Server);
