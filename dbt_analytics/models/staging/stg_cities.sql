select code as city, cluster::text as cluster, std_utc_offset from {{ source('ops', 'cities') }}
