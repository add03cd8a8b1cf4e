Console.WriteLine("LoadTest: placeholder");
