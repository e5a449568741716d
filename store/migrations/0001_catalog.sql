-- Shops, their resources, the service catalog and parts stock.
CREATE TABLE IF NOT EXISTS shops (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    timezone    text NOT NULL,
    hours       jsonb NOT NULL,            -- {"1": [["08:00","17:00"]], ...} ISO weekday -> local windows
    holidays    date[] NOT NULL DEFAULT '{}',
    lat         double precision,
    lon         double precision,
    address     text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS technicians (
    id                text PRIMARY KEY,
    -- integer twin of the id: the exclusion constraints compare int4ranges,
    -- which needs no btree_gist extension.
    rid               integer GENERATED ALWAYS AS IDENTITY UNIQUE,
    shop_id           text NOT NULL REFERENCES shops (id),
    name              text NOT NULL,
    specialization    text NOT NULL DEFAULT '',
    rating            double precision NOT NULL DEFAULT 0 CHECK (rating BETWEEN 0 AND 5),
    years_experience  integer NOT NULL DEFAULT 0 CHECK (years_experience >= 0),
    skills            text[] NOT NULL DEFAULT '{}',
    hours             jsonb NOT NULL,
    time_off          jsonb NOT NULL DEFAULT '[]',   -- [["2026-02-03T00:00:00+00:00", "..."], ...]
    email             text,
    active            boolean NOT NULL DEFAULT true
);
CREATE INDEX IF NOT EXISTS technicians_shop ON technicians (shop_id);

CREATE TABLE IF NOT EXISTS service_bays (
    id         text PRIMARY KEY,
    rid        integer GENERATED ALWAYS AS IDENTITY UNIQUE,
    shop_id    text NOT NULL REFERENCES shops (id),
    name       text NOT NULL,
    equipment  text[] NOT NULL DEFAULT '{}',
    active     boolean NOT NULL DEFAULT true
);
CREATE INDEX IF NOT EXISTS service_bays_shop ON service_bays (shop_id);

CREATE TABLE IF NOT EXISTS service_types (
    code                text PRIMARY KEY,
    name                text NOT NULL,
    category            text NOT NULL CHECK (category IN
                        ('routine_maintenance', 'diagnostic', 'component_repair', 'emergency')),
    default_minutes     integer NOT NULL CHECK (default_minutes > 0),
    min_minutes         integer CHECK (min_minutes > 0),
    max_minutes         integer CHECK (max_minutes > 0),
    required_skill      text,
    required_equipment  text[] NOT NULL DEFAULT '{}',
    required_parts      jsonb NOT NULL DEFAULT '[]'   -- [{"part_code": "...", "quantity": 1}]
);

CREATE TABLE IF NOT EXISTS parts (
    shop_id            text NOT NULL REFERENCES shops (id),
    part_code          text NOT NULL,
    name               text NOT NULL,
    quantity           integer NOT NULL CHECK (quantity >= 0),
    lead_time_minutes  integer NOT NULL CHECK (lead_time_minutes >= 0),
    PRIMARY KEY (shop_id, part_code)
);
