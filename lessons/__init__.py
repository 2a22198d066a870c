"""The numbered lessons, shipped with the package as minizf.lessons: ``minizf lesson list`` names
them, ``minizf lesson get N`` copies one out (a script or a notebook), ``minizf lesson check FILE``
reports its exercises. ``exercises`` holds what every lesson's exercise cells use."""
