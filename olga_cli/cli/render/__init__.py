"""Pure builders of what the terminal shows, one module per kind of output.

``text`` formats numbers, money and times for people; ``table`` lays out every list (it fits the
terminal, never cuts money or ids, and writes tab-separated lines to a pipe); ``records`` draws
requests (the access log, ``olga logs``); ``generation`` explains one request; ``usage`` draws bar
charts; ``lists`` holds the tables of keys, teams, limits and providers. Nothing here reads the store;
commands fetch, call a builder, and print. Text that came from users or models is never read as markup.
"""
